"""Atomic file writes and careful reads: a crash or bad input never leaves half a file."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from kglink.errors import ArtifactError, InputError


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~umask_value())  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def umask_value() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented UTF-8 JSON, atomically."""
    atomic_write_bytes(path, json.dumps(obj, indent=1, ensure_ascii=False).encode("utf-8"))


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """Save one array in ``.npy`` format (no pickle), atomically."""
    import io

    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    atomic_write_bytes(path, buf.getvalue())


def read_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    """Read a UTF-8 JSON file, raising :class:`InputError` with the reason on failure."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path}")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{what} {path} is not UTF-8 (byte {e.start}); re-save it as UTF-8") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(
            f"{what} {path} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None


def read_artifact_json(path: str | os.PathLike, what: str) -> Any:
    """Like :func:`read_json` but for files kglink wrote itself: failures are :class:`ArtifactError`."""
    try:
        return read_json(path, what)
    except InputError as e:
        raise ArtifactError(f"{e}; the folder is damaged, rebuild it with `kglink build`") from None


def load_npy(path: str | os.PathLike, what: str) -> np.ndarray:
    """Load an ``.npy`` file kglink wrote, raising :class:`ArtifactError` if it is missing or corrupt."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{what} missing: {path}; the folder is incomplete, rebuild it")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise ArtifactError(f"{what} {path} is corrupt ({e}); rebuild it") from None


@contextmanager
def replace_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder that replaces ``folder`` when the block succeeds.

    The old folder is moved aside and removed only after the new one is in place; on
    an error the temporary folder is removed and ``folder`` is left as it was.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file; give a folder path")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    tmp.chmod(0o777 & ~umask_value())  # mkdtemp makes 0700
    try:
        yield tmp
        old = None
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
            os.rmdir(old)
            os.replace(folder, old)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_jsonl(path: str | os.PathLike, what: str = "JSONL file") -> Iterator[tuple[int, Any]]:
    """``(line number, record)`` for each non-blank line of a UTF-8 JSON Lines file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path}")
    try:
        lines = path.read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise InputError(f"{what} {path} is not UTF-8 (byte {e.start}); re-save it as UTF-8") from None
    for lineno, line in enumerate(lines, 1):
        if line.strip():
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{what} {path}, line {lineno} is not valid JSON: {e.msg}") from None
