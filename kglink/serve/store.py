"""One served graph: reads on an immutable snapshot, writes applied in order by one writer thread.

The writer takes the writes waiting (up to ``max_group``), applies them in order to a copy
of the current bundle, saves the copy to the graph folder in one atomic swap
(:func:`kglink.artifacts.write_folder`), and only then publishes it, by replacing one
reference, and answers the writes. A reader holds the snapshot it started with, so it
sees the state before a write or after it, never a mix; a write that was answered is on
disk, whatever kills the process after. Folders the writer does not change (passages,
facts, extractions) are hard-linked into the new version instead of written again; a
write names the parts it changes (``changes``), which are copied for it and written.

A folder changed by another process (``kglink build --update``, ``kglink synonyms
--accept``) is noticed by its manifest's version and loaded again before the next write,
or within ``poll_s`` when no write comes.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kglink.artifacts import MANIFEST, read_artifact_json, write_folder, writer_lock
from kglink.bundle import ENTITIES_DIR, FACTS_DIR, PASSAGES_DIR, GraphBundle
from kglink.corpus import OPENIE_FILE, write_extractions
from kglink.graph import KnowledgeGraph
from kglink.results import SynonymPair

logger = logging.getLogger(__name__)

Write = Callable[[GraphBundle], Any]  # applied to the writer's copy; returns the write's answer
PARTS = (PASSAGES_DIR, FACTS_DIR, OPENIE_FILE)  # what a write may change besides graph and entities


class Snapshot:
    """A bundle no one changes any more, its folder version, and its retriever (built on first use)."""

    def __init__(self, bundle: GraphBundle, version: str) -> None:
        self.bundle, self.version = bundle, version
        self._retriever, self._synonyms, self._stats, self._lock = None, None, None, threading.Lock()

    def retriever(self):
        from kglink.retrieval.retriever import GraphRetriever

        with self._lock:
            if self._retriever is None:
                self._retriever = GraphRetriever(self.bundle)
            return self._retriever

    def synonyms(self, node: str | None = None, limit: int | None = None) -> list[SynonymPair]:
        """The synonym pairs (of ``node`` if given), best first, as ``kglink synonyms`` lists them.

        The whole list is ranked once per snapshot: it scans every edge (0.1 s on the
        19k-entity MuSiQue graph), which readers repeating it would pay in turn.
        """
        if node is not None:
            pairs = _ranked(self.bundle.graph.synonyms(node))
        else:
            with self._lock:
                if self._synonyms is None:
                    self._synonyms = _ranked(self.bundle.graph.synonyms())
                pairs = self._synonyms
        return pairs[:limit] if limit else pairs

    def stats(self) -> dict[str, int]:
        """The graph's counts, once per snapshot (they scan every edge: 0.14 s on the MuSiQue
        graph, paid by every page that opens the explorer otherwise)."""
        with self._lock:
            if self._stats is None:
                self._stats = self.bundle.graph.stats()
            return dict(self._stats)


def _ranked(pairs: list[SynonymPair]) -> list[SynonymPair]:
    return sorted(pairs, key=lambda p: (-p.score, p.source, p.target))


@dataclass
class _Pending:
    write: Write
    future: Future
    changes: frozenset[str]  # parts of PARTS the write changes (the others are linked, not rewritten)


class GraphStore:
    """A graph folder served: :attr:`snapshot` for readers, :meth:`submit` for writes."""

    def __init__(
        self,
        name: str,
        folder: str | os.PathLike,
        model,
        *,
        max_group: int = 64,
        poll_s: float = 2.0,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        self.name, self.folder, self.model = name, Path(os.path.abspath(folder)), model
        self.snapshot = Snapshot(GraphBundle.load(self.folder, model, show_progress=False), self._version())
        self.max_group, self.poll_s = max_group, poll_s
        self._on_commit = on_commit or (lambda n: None)
        self._writes: queue.Queue[_Pending | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=f"kglink-writer-{name}", daemon=True)
        self._thread.start()

    def submit(self, write: Write, changes: frozenset[str] = frozenset()) -> Future:
        """Queue a write; its future holds the write's answer once it is saved and published.

        ``changes`` names the parts of :data:`PARTS` the write changes besides the graph,
        the entity index and the decisions (always copied and written).
        """
        unknown = set(changes) - set(PARTS)
        if unknown:
            raise ValueError(f"unknown parts {sorted(unknown)}; a write may change {PARTS}")
        pending = _Pending(write, Future(), frozenset(changes))
        self._writes.put(pending)
        return pending.future

    @property
    def pending(self) -> int:
        return self._writes.qsize()

    def close(self, timeout: float = 60.0) -> None:
        """Finish every queued write, then stop the writer."""
        self._writes.put(None)
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            try:
                first = self._writes.get(timeout=self.poll_s)
            except queue.Empty:
                self._refresh()
                continue
            group = [first] if first is not None else []
            while group and len(group) < self.max_group:
                try:
                    group.append(self._writes.get_nowait())
                except queue.Empty:
                    break
            stop = None in group
            group = [p for p in group if p is not None]
            if group:
                self._commit(group)
            if stop or first is None:
                return

    def _commit(self, group: list[_Pending]) -> None:
        group = [p for p in group if p.future.set_running_or_notify_cancel()]  # not the abandoned
        if not group:
            return
        try:
            with writer_lock(self.folder):
                self._refresh()
                work, answers = self._apply(group)
                if any(not isinstance(a, BaseException) for a in answers):
                    self._save(work, frozenset().union(*(p.changes for p in group)))
                    self.snapshot = Snapshot(work, self._version())  # publish: one reference
        except BaseException as e:  # nothing was published: every write of the group fails
            logger.exception("writing %s failed", self.folder)
            answers = [e] * len(group)
        for pending, answer in zip(group, answers):
            if isinstance(answer, BaseException):
                pending.future.set_exception(answer)
            else:
                pending.future.set_result(answer)
        self._on_commit(sum(not isinstance(a, BaseException) for a in answers))

    def _apply(self, group: list[_Pending]) -> tuple[GraphBundle, list]:
        """Apply the writes in order to a copy; a failed write is undone by replaying those before it."""
        base = self.snapshot.bundle
        changes = frozenset().union(*(p.changes for p in group))
        work, answers = _copy(base, changes), []
        for i, pending in enumerate(group):
            try:
                answers.append(pending.write(work))
            except Exception as e:
                answers.append(e)
                work = _copy(base, changes)
                for done, answer in zip(group[:i], answers):
                    if not isinstance(answer, BaseException):
                        done.write(work)
        return work, answers

    def _save(self, bundle: GraphBundle, changes: frozenset[str]) -> None:
        """The bundle saved all at once; unchanged parts hard-linked from the version on disk."""
        with write_folder(self.folder, "knowledge_graph") as tmp:
            bundle.graph.write(tmp)
            bundle.entities.write(tmp / ENTITIES_DIR)
            if bundle.decisions:
                bundle.decisions.write(tmp)
            for part in PARTS:
                if part not in changes and (self.folder / part).exists():
                    _link_tree(self.folder / part, tmp / part)
            if PASSAGES_DIR in changes and bundle.passages is not None:
                bundle.passages.write(tmp / PASSAGES_DIR)
            if FACTS_DIR in changes and bundle.facts is not None:
                bundle.facts.write(tmp / FACTS_DIR)
            if OPENIE_FILE in changes and bundle.openie is not None:
                write_extractions(tmp / OPENIE_FILE, bundle.openie, bundle.extractor)

    def _refresh(self) -> None:
        """Load the folder again if another process saved a new version of it."""
        version = self._version()
        if version == self.snapshot.version:
            return
        logger.info("%s changed on disk (version %s); loading it again", self.folder, version)
        bundle = GraphBundle.load(self.folder, self.model, show_progress=False)
        self.snapshot = Snapshot(bundle, self._version())

    def _version(self) -> str:
        path = self.folder / MANIFEST
        return read_artifact_json(path, "folder manifest").get("version", "") if path.is_file() else ""


def _copy(bundle: GraphBundle, changes: frozenset[str]) -> GraphBundle:
    """A copy a writer may change; parts the write leaves alone are shared.

    The extractions are immutable records (a write replaces ``bundle.openie``), so they
    are shared even when the write changes them.
    """
    index, facts = bundle.passages, bundle.facts
    if PASSAGES_DIR in changes and index is not None:
        index = _copy_passages(index)
    if FACTS_DIR in changes and facts is not None:
        facts = facts.copy()
    graph = KnowledgeGraph(bundle.graph.graph.copy())  # attribute lists shared: writes replace them
    return replace(
        bundle, graph=graph, entities=bundle.entities.copy(), passages=index, facts=facts, timings={}
    )


def _copy_passages(index):
    import copy

    new = copy.copy(index)
    new.chunks = index.chunks.copy()
    return new


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link every file of ``source`` under ``target`` (files are replaced, never changed in place)."""
    if source.is_file():
        os.link(source, target)
        return
    for path in sorted(source.rglob("*")):
        dest = target / path.relative_to(source)
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
        elif path.name != ".lock":
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, dest)
