"""Every file and folder kglink reads or writes passes through here.

- :mod:`~kglink.artifacts.files`: atomic file writes, input files read with one set of
  clear errors, and the one ``config.json`` policy (:func:`write_config`,
  :func:`read_config`: ``kind``, ``format_version``, upgrade or say what to run);
- :mod:`~kglink.artifacts.folders`: whole folders saved all-or-nothing under kill -9
  (:func:`write_folder`), one writer at a time (:func:`writer_lock`), read as one
  complete version checked against its manifest (:func:`read_folder`).
"""

from kglink.artifacts.files import (
    FORMAT_VERSIONS,
    REBUILD,
    UPGRADES,
    atomic_save_npy,
    atomic_write_bytes,
    atomic_write_json,
    load_npy,
    read_artifact_json,
    read_config,
    read_json,
    read_jsonl,
    read_text,
    umask_value,
    write_config,
)
from kglink.artifacts.folders import (
    MANIFEST,
    check_target,
    folder_kind,
    read_folder,
    verify,
    write_folder,
    writer_lock,
)

__all__ = [
    "FORMAT_VERSIONS",
    "MANIFEST",
    "REBUILD",
    "UPGRADES",
    "atomic_save_npy",
    "atomic_write_bytes",
    "atomic_write_json",
    "check_target",
    "folder_kind",
    "load_npy",
    "read_artifact_json",
    "read_config",
    "read_folder",
    "read_json",
    "read_jsonl",
    "read_text",
    "umask_value",
    "verify",
    "write_config",
    "write_folder",
    "writer_lock",
]
