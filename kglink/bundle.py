"""The graph bundle: a knowledge graph with its entity and passage indexes, built, updated, saved.

A graph folder holds ``graph.json`` / ``graph_config.json`` (the
:class:`~kglink.graph.KnowledgeGraph`), ``entities/`` (the
:class:`~kglink.index.EntityIndex` of its entity names), ``passages/`` (the
:class:`~kglink.index.PassageIndex`, unless built without it), ``facts/`` (the
:class:`~kglink.index.facts.FactIndex` of its triples, when built with it) and ``openie.json``
(the extractions it was built from, see :mod:`kglink.corpus.openie`). It is written into a
temporary sibling folder and swapped in at the end, so a failed build leaves the
previous folder as it was.

Two ways in: :func:`build_graph` from HippoRAG OpenIE JSON, and
:func:`build_graph_from_corpus` from a raw corpus, which chunks it, runs an extractor
(any :class:`~kglink.ie.Extractor`) and builds. Given the extractions of an earlier build
(``reuse``, e.g. the ``openie.json`` of the graph folder being rebuilt), passages with the
same id and content that the same extractor has already seen are not extracted again.
:func:`update_graph_from_corpus` adds to a built graph only the passages it lacks: their
extraction, their new entity names, and new-vs-all synonym pairs.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from kglink.artifacts import read_folder, write_folder
from kglink.corpus import (
    DEFAULT_CHUNK_TOKENS,
    OPENIE_FILE,
    OpenIEData,
    OpenIEDoc,
    Passage,
    load_openie,
    load_passages,
    merge_extractions,
    read_extractions,
    write_extractions,
)
from kglink.encoder import LateInteractionModel
from kglink.engine import ENGINES, RayEngine
from kglink.errors import ArtifactError, InputError
from kglink.graph import ENTITY_PREFIX, KnowledgeGraph
from kglink.graph.curation import SynonymDecisions
from kglink.graph.edits import entity_keys
from kglink.ie import Extraction, Extractor
from kglink.index import EntityIndex, PassageIndex
from kglink.index.facts import FactIndex

logger = logging.getLogger(__name__)

ENTITIES_DIR = "entities"
PASSAGES_DIR = "passages"
FACTS_DIR = "facts"


@dataclass
class GraphBundle:
    """A knowledge graph, the entity index that links into it, and its dense passage index.

    ``passages`` is ``None`` for a graph built without passage encodings (it then
    cannot retrieve passages). ``openie`` holds the extractions the graph was built
    from and ``extractor`` the name of the backend that made them (saved as
    ``openie.json``; ``None`` for a folder saved before kglink kept them). ``facts`` is
    the fact index (HippoRAG 2's query-to-triple bridge), ``None`` unless built with it.
    """

    graph: KnowledgeGraph
    entities: EntityIndex
    passages: PassageIndex | None = None
    timings: dict[str, float] = field(default_factory=dict)
    openie: OpenIEData | None = None
    extractor: str = ""
    facts: FactIndex | None = None
    decisions: SynonymDecisions = field(default_factory=SynonymDecisions)

    def extend(
        self, openie: str | os.PathLike | OpenIEData, corpus: str | os.PathLike | None = None
    ) -> dict[str, int]:
        """Add the passages of another OpenIE file (or loaded data) that the graph does not hold yet.

        Passages whose entities the graph already holds (same content hash) are skipped;
        only the new entity names are encoded, and only new-vs-all synonym pairs are scored.
        Returns the counts of new passages, entities and synonym edges.
        """
        data = openie if isinstance(openie, OpenIEData) else load_openie(openie, corpus)
        known = set(self.graph.extracted_passage_ids())
        fresh = tuple(d for d in data.docs if d.passage.id not in known)
        if not fresh:
            return {"new_passages": 0, "new_entities": 0, "new_synonym_edges": 0}
        data = replace(data, docs=fresh, malformed_triples=sum(d.malformed for d in fresh))
        new_graph = KnowledgeGraph.from_openie(data)
        annotate_passages(new_graph, fresh)
        new_names = self.graph.merge(new_graph)
        if self.openie is not None:
            self.openie = merge_extractions(self.openie, data)
        if self.passages is not None:
            self.passages.add([d.passage for d in fresh if d.passage.id not in self.passages])
        if self.facts is not None:
            self.facts.add([t for d in fresh for t in d.triples])  # only facts it lacks are encoded
        new_ids = self.entities.add(new_names) if new_names else []
        pairs = self.entities.synonym_pairs(nodes=new_ids) if new_ids else []
        added = self.graph.add_synonyms(pairs)
        self.decisions.apply(self.graph)  # a person's decisions outrank the new scores
        logger.info(
            "extended with %d passages, %d entities, %d synonym edges", len(fresh), len(new_ids), added
        )
        return {"new_passages": len(fresh), "new_entities": len(new_ids), "new_synonym_edges": added}

    def remove_entities(self, ids: Sequence[str]) -> dict:
        """Remove entity nodes from the graph, the entity index, the fact index and the decisions.

        ``ids`` are node ids as :meth:`EntityIndex.link` returns them (normalised names);
        all are checked before anything changes. Facts whose subject or object is removed
        are dropped; decisions naming a removed entity are forgotten. The extractions
        (``openie.json``) keep what the extractor found: a rebuild from them brings the
        names back. Returns the removed names and the counts of facts and decisions dropped.
        """
        self._check_indexed(ids)
        removed = self.graph.remove_entities(ids)
        self.entities.remove(removed)
        facts = self.facts.remove_entities(removed) if self.facts is not None else 0
        before = len(self.decisions.accept) + len(self.decisions.reject)
        self.decisions = self.decisions.without(removed)
        after = len(self.decisions.accept) + len(self.decisions.reject)
        logger.info("removed %d entities, %d facts", len(removed), facts)
        return {"removed": removed, "facts_removed": facts, "decisions_dropped": before - after}

    def merge_entities(self, ids: Sequence[str], into: str) -> dict:
        """Merge entity nodes into the entity ``into`` (see :mod:`kglink.graph.edits`).

        The merged nodes leave the entity index (``into`` keeps its own encoding and
        synonym edges are moved, not scored again); facts naming them are rewritten to
        name ``into`` (so fact seeds reach the merged node); decisions naming them are
        read as ``into``. The extractions (``openie.json``) are left as extracted.
        Returns :meth:`KnowledgeGraph.merge_entities`'s record plus ``facts_renamed``.
        """
        self._check_indexed([*ids, into])
        out = self.graph.merge_entities(ids, into)
        self.entities.remove(out["merged"])
        facts = self.facts.rename_entities(out["merged"], out["into"]) if self.facts is not None else 0
        self.decisions = self.decisions.renamed(out["merged"], out["into"])
        self.decisions.apply(self.graph)
        logger.info("merged %d entities into %r", len(out["merged"]), out["into"])
        return {**out, "facts_renamed": facts}

    def _check_indexed(self, ids: Sequence[str]) -> None:
        """Every id an entity of the graph and of the entity index, before anything changes."""
        for key in entity_keys(self.graph, ids):
            if key[len(ENTITY_PREFIX) :] not in self.entities:
                raise ArtifactError(
                    f"entity {key[len(ENTITY_PREFIX) :]!r} is in the graph but not in its entity "
                    "index; the folder is inconsistent: rebuild it with `kglink build`"
                )

    def save(self, folder: str | os.PathLike) -> None:
        """Write the bundle to ``folder``: all of it or, whatever happens, nothing.

        See :mod:`kglink.artifacts` for how (and for the lock that keeps writers in turn).
        """
        with write_folder(folder, "knowledge_graph") as tmp:
            self.graph.write(tmp)
            self.entities.write(tmp / ENTITIES_DIR)
            if self.passages is not None:
                self.passages.write(tmp / PASSAGES_DIR)
            if self.facts is not None:
                self.facts.write(tmp / FACTS_DIR)
            if self.openie is not None:
                write_extractions(tmp / OPENIE_FILE, self.openie, self.extractor)
            if self.decisions:
                self.decisions.write(tmp)

    @classmethod
    def load(
        cls, folder: str | os.PathLike, model: LateInteractionModel | None = None, show_progress: bool = True
    ) -> GraphBundle:
        """Load a graph folder; ``model=None`` loads the model the index was built with.

        ``show_progress`` is that model's default for encoding bars.
        """
        return read_folder(folder, lambda path: cls.read(path, model, show_progress))

    @staticmethod
    def load_entities(
        folder: str | os.PathLike, model: LateInteractionModel | None = None, show_progress: bool = True
    ) -> EntityIndex:
        """Only the entity index of a graph folder (all that linking needs), checked as :meth:`load` does.

        ``kglink link`` loads this: 0.72 s against 2.26 s for :meth:`load` on the MuSiQue
        graph (medians of 3, model already loaded), whose passages and facts it does not read.
        """

        def read(path: Path) -> EntityIndex:
            if not (path / ENTITIES_DIR).is_dir():
                raise ArtifactError(
                    f"{path} is not a kglink graph folder (no {ENTITIES_DIR}/); build one with `kglink build`"
                )
            return EntityIndex.read(path / ENTITIES_DIR, model, show_progress)

        return read_folder(folder, read, parts=(ENTITIES_DIR,))

    @classmethod
    def read(
        cls, folder: Path, model: LateInteractionModel | None, show_progress: bool = True
    ) -> GraphBundle:
        """Read the bundle's files from ``folder`` as they are (:meth:`load` checks the folder first)."""
        if not (folder / ENTITIES_DIR).is_dir():
            raise ArtifactError(
                f"{folder} is not a kglink graph folder (no {ENTITIES_DIR}/); build one with `kglink build`"
            )
        graph = KnowledgeGraph.read(folder)
        entities = EntityIndex.read(folder / ENTITIES_DIR, model, show_progress)
        has_passages = (folder / PASSAGES_DIR).is_dir()
        passages = PassageIndex.read(folder / PASSAGES_DIR, entities.model) if has_passages else None
        openie, extractor = None, ""
        if (folder / OPENIE_FILE).is_file():
            openie, extractor = read_extractions(folder / OPENIE_FILE)
        facts = FactIndex.read(folder / FACTS_DIR, entities.model) if (folder / FACTS_DIR).is_dir() else None
        bundle = cls(graph, entities, passages, openie=openie, extractor=extractor, facts=facts)
        bundle.decisions = SynonymDecisions.read(folder)
        return bundle

    def keep_decisions(self, folder: str | os.PathLike) -> int:
        """Take over the synonym decisions saved in ``folder`` (the graph a rebuild replaces) and apply them.

        Returns the edges touched; a folder without decisions changes nothing.
        """
        folder = Path(folder)
        if not folder.is_dir():
            return 0
        self.decisions = read_folder(folder, SynonymDecisions.read)
        return self.decisions.apply(self.graph)


def build_graph(
    openie: str | os.PathLike | OpenIEData,
    corpus: str | os.PathLike | None = None,
    *,
    model: LateInteractionModel | str | None = None,
    threshold: float | None = None,
    normalization: str = "self",
    max_neighbors: int = 100,
    min_alnum_chars: int = 3,
    device: str | None = None,
    passages: bool = True,
    facts: bool = False,
    engine: str | RayEngine = "local",
) -> GraphBundle:
    """Build a graph from HippoRAG OpenIE JSON (and its corpus) with synonym edges.

    ``threshold=None`` takes the model's calibrated synonym threshold (``kglink train``
    stores it), else 0.8. ``openie`` is a file path or already loaded :class:`~kglink.corpus.OpenIEData`
    (``corpus`` then does not apply). ``model`` is a loaded model, a checkpoint path /
    hub id, or ``None`` for the embedded default. Synonym pairs follow
    :meth:`EntityIndex.synonym_pairs`. With ``passages`` the passages are also encoded
    for dense retrieval, with ``facts`` the triples for fact seeds. ``engine="ray"`` (or a
    :class:`~kglink.engine.RayEngine` for a given cluster) encodes the entity names and
    searches their synonyms on Ray (:mod:`kglink.engine`): the same graph, bit for bit.
    """
    if engine not in ENGINES and not isinstance(engine, RayEngine):
        raise InputError(f"engine must be one of {ENGINES} or a RayEngine, got {engine!r}")
    timings: dict[str, float] = {}
    start = time.perf_counter()
    data = openie if isinstance(openie, OpenIEData) else load_openie(openie, corpus)
    graph = KnowledgeGraph.from_openie(data)
    annotate_passages(graph, data.docs)
    timings["graph_s"] = time.perf_counter() - start
    if not isinstance(model, LateInteractionModel):
        model = LateInteractionModel.from_pretrained(model, device=device)
    entities = EntityIndex(model, normalization=normalization, threshold=threshold)
    cluster = RayEngine(show_progress=model.show_progress) if engine == "ray" else engine
    cluster = cluster if isinstance(cluster, RayEngine) else None
    with cluster or nullcontext():
        start = time.perf_counter()
        entities.add(graph.entity_names(), encode=cluster.encoder(model) if cluster else None)
        timings["encode_s"] = time.perf_counter() - start
        start = time.perf_counter()
        mapper = cluster.map_blocks if cluster else None
        pairs = entities.synonym_pairs(threshold, max_neighbors, min_alnum_chars, map_blocks=mapper)
        graph.add_synonyms(pairs)
        timings["synonyms_s"] = time.perf_counter() - start
    logger.info("built %r with %d synonym pairs", graph, len(pairs))
    passage_index = None
    if passages:
        start = time.perf_counter()
        passage_index = PassageIndex(model)
        passage_index.add([doc.passage for doc in data.docs])
        timings["passages_s"] = time.perf_counter() - start
    fact_index = None
    if facts:
        start = time.perf_counter()
        fact_index = FactIndex(model)
        fact_index.add([t for doc in data.docs for t in doc.triples])
        timings["facts_s"] = time.perf_counter() - start
    return GraphBundle(graph, entities, passage_index, timings, data, "openie-file", fact_index)


def annotate_passages(graph: KnowledgeGraph, docs: tuple[OpenIEDoc, ...]) -> None:
    """Copy ``source``/``start``/``end`` of passages cut from longer documents onto their nodes."""
    for doc in docs:
        p = doc.passage
        if p.source:
            graph.graph.nodes[graph.passage_node(p.id)].update(source=p.source, start=p.start, end=p.end)


def extract_passages(
    passages: Sequence[Passage],
    extractor: Extractor,
    reuse: OpenIEData | None = None,
    reuse_extractor: str = "",
) -> OpenIEData:
    """Extract every passage, taking from ``reuse`` those it holds with the same id and content.

    ``reuse`` counts only when ``reuse_extractor`` is ``extractor.name``: another
    backend's extractions are never mixed in.
    """
    cached: dict[tuple[str, str], OpenIEDoc] = {}
    if reuse is not None and reuse_extractor == extractor.name:
        cached = {(d.passage.id, d.passage.content): d for d in reuse.docs}
    todo = [p for p in passages if (p.id, p.content) not in cached]
    found: dict[str, Extraction] = {}
    if todo:
        found = {p.id: e for p, e in zip(todo, extractor.extract(todo), strict=True)}
    logger.info("extraction: %d passages reused, %d extracted", len(passages) - len(todo), len(todo))
    docs = []
    for p in passages:
        if p.id in found:
            docs.append(OpenIEDoc(p, found[p.id].entities, found[p.id].triples))
        else:
            old = cached[p.id, p.content]
            docs.append(OpenIEDoc(p, old.entities, old.triples))
    return OpenIEData(tuple(docs), "v1", 0)


def build_graph_from_corpus(
    corpus: str | os.PathLike | Sequence[Passage],
    extractor: Extractor,
    *,
    chunk_tokens: int | None = DEFAULT_CHUNK_TOKENS,
    reuse: tuple[OpenIEData, str] | None = None,
    model: LateInteractionModel | str | None = None,
    threshold: float | None = None,
    normalization: str = "self",
    device: str | None = None,
    passages: bool = True,
    facts: bool = False,
    engine: str | RayEngine = "local",
) -> GraphBundle:
    """Build a graph from a raw corpus with ``extractor``.

    ``corpus`` is a path for :func:`kglink.corpus.load_documents` (JSON, JSONL, or a
    folder of ``.txt``/``.md`` files), whose documents are cut into passages of at most
    ``chunk_tokens`` tokens of the model's tokenizer (``0`` or ``None``: kept whole), or
    a list of passages, used as they are. ``reuse`` is ``(extractions, extractor name)``
    of an earlier build, as :func:`kglink.corpus.read_extractions` returns. The other
    arguments are those of :func:`build_graph`. The bundle's ``timings``
    gain ``chunk_s`` and ``extract_s``.
    """
    if not isinstance(model, LateInteractionModel):
        model = LateInteractionModel.from_pretrained(model, device=device)
    start = time.perf_counter()
    docs = _passages(corpus, model, chunk_tokens)
    chunk_s = time.perf_counter() - start
    start = time.perf_counter()
    data = extract_passages(docs, extractor, *(reuse or (None, "")))
    extract_s = time.perf_counter() - start
    bundle = build_graph(
        data,
        model=model,
        threshold=threshold,
        normalization=normalization,
        passages=passages,
        facts=facts,
        engine=engine,
    )
    bundle.extractor = extractor.name
    bundle.timings = {"chunk_s": chunk_s, "extract_s": extract_s, **bundle.timings}
    return bundle


def update_graph_from_corpus(
    bundle: GraphBundle,
    corpus: str | os.PathLike | Sequence[Passage],
    extractor: Extractor,
    *,
    chunk_tokens: int | None = DEFAULT_CHUNK_TOKENS,
) -> dict[str, int]:
    """Add to ``bundle`` the passages of ``corpus`` it does not hold (by content-hash id).

    Only those passages are extracted; only their new entity names are encoded and only
    new-vs-all synonym pairs scored (:meth:`GraphBundle.extend`).
    Returns the counts of ``extend`` plus ``corpus_passages``; the bundle's ``timings``
    become those of this update.
    """
    start = time.perf_counter()
    model = bundle.entities.model
    docs = _passages(corpus, model, chunk_tokens)
    known = set(bundle.graph.passage_ids())
    fresh = [p for p in docs if p.id not in known]
    chunk_s = time.perf_counter() - start
    start = time.perf_counter()
    data = extract_passages(fresh, extractor)
    extract_s = time.perf_counter() - start
    start = time.perf_counter()
    counts = bundle.extend(data)
    if bundle.extractor != extractor.name and fresh:
        bundle.extractor = "+".join(
            dict.fromkeys(filter(None, [*bundle.extractor.split("+"), extractor.name]))
        )
    bundle.timings = {"chunk_s": chunk_s, "extract_s": extract_s, "extend_s": time.perf_counter() - start}
    return {"corpus_passages": len(docs), **counts}


def _passages(corpus: str | os.PathLike | Sequence[Passage], model, chunk_tokens) -> Sequence[Passage]:
    """A corpus path read and chunked (:func:`~kglink.corpus.load_passages`); passages as they are."""
    return load_passages(corpus, model, chunk_tokens) if isinstance(corpus, (str, os.PathLike)) else corpus
