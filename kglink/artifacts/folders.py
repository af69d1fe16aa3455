"""Folders kglink owns: written all at once, by one writer at a time, read as one version.

**Write** (:func:`write_folder`): under the folder's lock, the new version is written into
an empty hidden sibling; its ``MANIFEST.json`` (every file's size and SHA-256, a version
id) is written last; every file and folder is fsynced; then the new folder takes the old
one's place in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``; the lock has
created the folder if there was none) and the old version, now at the sibling's path, is deleted. A
kill at any instant leaves the old or the new version at the path, never a mix, and at
most one hidden sibling, which the next writer or reader removes.

Where the exchange is not available (another OS, or a file system without it) the swap
takes two renames; a kill between them leaves no folder at the path, and the next load
moves the newest complete version back into place.

**Read** (:func:`read_folder`): the manifest is checked against the files (a folder whose
parts come from different saves, or were changed by hand, is refused), the folder is
loaded, and the version id is read again: if a writer swapped in a new version
meanwhile, the load starts over.

**Lock** (:func:`writer_lock`): ``.lock`` in the folder, taken with ``fcntl.flock``; a
second writer waits for it, naming the pid that holds it, and the kernel releases the
lock of a killed process.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from kglink.artifacts.files import atomic_write_json, read_artifact_json, umask_value
from kglink.errors import ArtifactError, InputError

logger = logging.getLogger(__name__)

T = TypeVar("T")
MANIFEST = "MANIFEST.json"
# kind -> (the file that names the kind, the entries a folder of that kind may hold; None: any)
KINDS: dict[str, tuple[str, frozenset[str] | None]] = {
    "knowledge_graph": (
        "graph_config.json",
        frozenset(
            {"graph.json", "graph_config.json", "entities", "passages", "facts", "openie.json", MANIFEST}
            | {"synonym_decisions.json"}  # kglink.graph.curation.DECISIONS_FILE
        ),
    ),
    "entity_index": (
        "config.json",
        frozenset({"config.json", "docs", "queries", "self_scores.npy", MANIFEST}),
    ),
    "late_interaction_index": (
        "config.json",
        frozenset({"config.json", "docs.json", "tokens.npy", "offsets.npy", MANIFEST})
        | {"ivf_centroids.npy", "ivf_lists.npy"},  # kglink.index.tokens.IVF_FILES
    ),
    "passage_index": ("config.json", frozenset({"config.json", "chunks", MANIFEST})),
    "fact_index": ("config.json", frozenset({"config.json", "docs", MANIFEST})),
    "model": ("kglink.json", None),  # a PyLate checkpoint: its files are the library's to name
}
LABELS = {"knowledge_graph": "graph", "model": "model"}
_RETRIES = 5


# --- the lock ------------------------------------------------------------------------

LOCK = ".lock"
_held: dict[tuple[str, int], int] = {}  # (folder, thread) -> depth: re-entrant per thread
_held_guard = threading.Lock()


@contextmanager
def writer_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold ``folder``'s writer lock (``folder/.lock``); another process or thread waits for it.

    A folder that does not exist yet is created (empty) to hold the lock, and removed
    again if nothing was saved into it. A save swaps the whole folder, lock file
    included, so a waiting writer checks that the file it locked is still the folder's.
    """
    folder = Path(os.path.abspath(folder))
    key = (str(folder), threading.get_ident())
    with _held_guard:
        depth = _held.get(key, 0)
        _held[key] = depth + 1
    try:
        if depth:
            yield
            return
        if folder.exists() and not folder.is_dir():
            raise InputError(f"{folder} is a file; give a folder path")
        fd, created = _lock(folder)
        try:
            yield
        finally:
            os.close(fd)  # releases the flock
            if created and {p.name for p in folder.iterdir()} <= {LOCK}:
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        with _held_guard:
            _held[key] -= 1
            if not _held[key]:
                del _held[key]


def _lock(folder: Path) -> tuple[int, bool]:
    """The locked fd, and whether the folder was created for it."""
    import fcntl

    created = False
    while True:
        if not folder.is_dir():  # not there yet, or removed by a writer that had created it
            folder.mkdir(parents=True, exist_ok=True)
            created = True
        fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o666 & ~umask_value())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            logger.warning("another kglink process is writing %s (pid %s); waiting for it", folder, holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            current = os.stat(folder / LOCK).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(fd).st_ino:  # still the folder's lock, not the swapped-out one
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd, created
        os.close(fd)


def _try_lock(folder: Path) -> int | None:
    """The lock's fd if no writer holds it (the caller closes it), else ``None``."""
    import fcntl

    if any(k[0] == str(Path(os.path.abspath(folder))) for k in _held) or not folder.is_dir():
        return None
    try:
        fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o666 & ~umask_value())
    except OSError:
        return None  # a read-only place: nothing to clean there
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        os.close(fd)
        return None


# --- writing -------------------------------------------------------------------------


@contextmanager
def write_folder(folder: str | os.PathLike, kind: str, only: frozenset[str] | None = None) -> Iterator[Path]:
    """Yield an empty folder that becomes ``folder`` in one atomic step when the block succeeds.

    ``folder`` must not exist, be empty, or be a kglink folder of this ``kind`` holding
    nothing kglink did not write; ``only`` names the entries this save writes, for a save
    that must not drop the others (a graph saved alone over a whole graph bundle).
    On an error, or a kill, the folder stays as it was.
    """
    folder = Path(os.path.abspath(folder))
    check_target(folder, kind, only)  # before the lock, which would put its file in the folder
    with writer_lock(folder):
        check_target(folder, kind, only)
        _clean(folder)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
        tmp.chmod(0o777 & ~umask_value())  # mkdtemp makes 0700
        try:
            yield tmp
            _write_manifest(tmp, kind, folder)
            (tmp / LOCK).write_text(f"{os.getpid()}\n")  # the lock of the new version, as the old one
            _fsync_tree(tmp)
            _swap(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(tmp, ignore_errors=True)  # the old version, after the swap


def check_target(folder: Path, kind: str, only: frozenset[str] | None = None) -> None:
    """Refuse to replace a folder that kglink did not write, or one of another kind."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file; give a folder path")
    entries = {p.name for p in folder.iterdir()} - {LOCK} if folder.is_dir() else set()
    if not entries:
        return
    label = LABELS.get(kind, kind.replace("_", " "))
    if folder_kind(folder) != kind:
        raise InputError(
            f"{folder} exists and is not a kglink {label} folder; choose another --out or remove it"
        )
    known = KINDS[kind][1]
    foreign = sorted(entries - known) if known is not None else []
    if foreign:
        raise InputError(
            f"{folder} holds {', '.join(foreign[:5])}, which kglink did not write; a save replaces the "
            "whole folder, so move them out first"
        )
    dropped = sorted(entries - only - {MANIFEST}) if only is not None else []
    if dropped:
        raise InputError(
            f"{folder} also holds {', '.join(dropped)}, which this save would drop; save to another folder"
        )


def folder_kind(folder: Path) -> str | None:
    """The kind of kglink folder ``folder`` is, from the file that names it; ``None`` if none."""
    for kind, (marker, _) in KINDS.items():
        path = folder / marker
        if not path.is_file():
            continue
        if kind == "model":
            return kind
        try:
            found = read_artifact_json(path, "folder config")
        except ArtifactError:
            continue
        if isinstance(found, dict) and found.get("kind") == kind:
            return kind
    return None


def _write_manifest(folder: Path, kind: str, previous: Path) -> None:
    """The manifest of ``folder``; a file hard-linked from ``previous`` keeps its listed hash.

    Files are replaced, never changed in place, so a link holds the bytes its old
    manifest lists (a file changed in place by hand fails the next load's check either
    way). A write to one part of a 441 MB graph links the rest instead of hashing it again.
    """
    try:
        old = (_manifest(previous) or {}).get("files") if previous.is_dir() else None
    except ArtifactError:
        old = None
    old = old if isinstance(old, dict) else {}
    files = {}
    for rel, path in _files(folder):
        stat, was, listed = path.stat(), previous / rel, old.get(rel)
        linked = was.is_file() and os.path.samestat(stat, was.stat())
        known = linked and isinstance(listed, list) and len(listed) == 2 and listed[0] == stat.st_size
        files[rel] = [stat.st_size, listed[1] if known else _sha256(path)]
    manifest = {"kind": kind, "version": uuid.uuid4().hex, "written_ns": time.time_ns(), "files": files}
    atomic_write_json(folder / MANIFEST, manifest)


def _files(folder: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and rel not in (MANIFEST, LOCK):
            yield rel, path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _fsync_tree(folder: Path) -> None:
    """fsync every file, then every folder bottom-up, so the data is on disk before the swap."""
    for path in sorted(folder.rglob("*"), key=lambda p: -len(p.parts)):
        _fsync(path)
    _fsync(folder)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap(new: Path, folder: Path) -> None:
    """Put ``new`` at ``folder``'s path in one atomic step; the old version ends up at ``new``."""
    if not _exchange(new, folder):
        old = new.with_name(new.name.replace(".new-", ".old-"))
        os.rename(folder, old)  # a kill here leaves no folder: read_folder recovers `new`
        os.rename(new, folder)
        os.rename(old, new)
    _fsync(folder.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


# --- reading and recovery ------------------------------------------------------------


def read_folder(
    folder: str | os.PathLike, load: Callable[[Path], T], parts: Collection[str] | None = None
) -> T:
    """``load(folder)`` on one complete version of ``folder``, checked against its manifest.

    ``parts`` (top-level entries) limits the check to what ``load`` reads of the folder.
    """
    folder = Path(folder)
    for _ in range(_RETRIES):
        _recover(folder)
        before = _version(folder)
        try:
            verify(folder, parts)
            value = load(folder)
        except Exception:  # parts of two versions can fail in any way; retried only if a swap happened
            if _version(folder) != before:
                continue  # a writer swapped in a new version while we read: read that one
            raise
        if _version(folder) == before:
            return value
    raise ArtifactError(f"{folder} changed {_RETRIES} times while it was read; try again")


def verify(folder: Path, parts: Collection[str] | None = None) -> None:
    """Check every file (under ``parts`` if given) against the manifest; a folder without
    one (kglink 0.1) is taken as it is.

    Entries that are not kglink's (a user's notes beside a graph) are left out of the check:
    a save refuses to replace them, a load reads around them.
    """
    manifest = _manifest(folder)
    if manifest is None:
        return
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        raise ArtifactError(f"{folder / MANIFEST} is damaged; rebuild the folder")
    known = KINDS.get(manifest.get("kind"), (None, None))[1]
    if parts is not None:
        known = frozenset(parts) if known is None else known & frozenset(parts)
        listed = {rel: v for rel, v in listed.items() if rel.split("/")[0] in known}
    present = {rel: p for rel, p in _files(folder) if known is None or rel.split("/")[0] in known}
    for rel in sorted(set(listed) | set(present)):
        path, want = present.get(rel), listed.get(rel)
        ok = path is not None and isinstance(want, list) and path.stat().st_size == want[0]
        if not (ok and _sha256(path) == want[1]):
            what = "is missing" if path is None else "is not in the manifest" if want is None else "differs"
            raise ArtifactError(
                f"{folder}: {rel} {what} (by its manifest the folder's parts do not belong together); "
                "rebuild it with `kglink build`, or restore a copy"
            )


def _manifest(folder: Path) -> dict | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    manifest = read_artifact_json(path, "folder manifest")
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path} is damaged; rebuild the folder")
    return manifest


def _version(folder: Path) -> str | None:
    try:
        manifest = _manifest(folder)
    except ArtifactError:
        return None
    return manifest.get("version") if manifest else None


def _recover(folder: Path) -> None:
    """Put back the newest complete version if a kill left none at the path; remove leftovers.

    Leftovers are removed only under the folder's lock, so never while a writer works.
    """
    if not folder.parent.is_dir() or not _leftovers(folder):
        return
    if not folder.exists():  # only the two-rename swap leaves this; its new version is complete
        complete = [p for p in _leftovers(folder) if _complete(p)]
        if complete:
            newest = max(complete, key=lambda p: _manifest(p)["written_ns"])
            try:
                os.rename(newest, folder)
                _fsync(folder.parent)
                logger.warning("recovered %s from an interrupted save", folder)
            except OSError:
                pass  # another reader put it back first
    fd = _try_lock(folder)
    if fd is not None:
        try:
            _clean(folder)
        finally:
            os.close(fd)


def _complete(path: Path) -> bool:
    try:
        verify(path)
        return _manifest(path) is not None
    except (ArtifactError, OSError):
        return False


def _leftovers(folder: Path) -> list[Path]:
    prefixes = (f".{folder.name}.new-", f".{folder.name}.old-")
    return [p for p in folder.parent.iterdir() if p.name.startswith(prefixes) and p.is_dir()]


def _clean(folder: Path) -> None:
    """Remove what killed writers left beside ``folder`` (the caller holds the lock)."""
    for path in _leftovers(folder):
        shutil.rmtree(path, ignore_errors=True)
