"""From OpenIE JSON to a saved graph folder: graph + entity index + synonym edges + passages.

A graph folder holds ``graph.json`` / ``graph_config.json`` (the
:class:`~kglink.graph.KnowledgeGraph`), ``entities/`` (the
:class:`~kglink.entities.EntityIndex` of its entity names), ``passages/`` (the
:class:`~kglink.passages.PassageIndex`, unless built without it) and ``openie.json``
(the extractions it was built from, see :mod:`kglink.ie.store`). It is written into a
temporary sibling folder and swapped in at the end, so a failed build leaves the
previous folder as it was. Building from a raw corpus is :mod:`kglink.ingest`.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from kglink.entities import EntityIndex
from kglink.errors import ArtifactError
from kglink.graph import KnowledgeGraph
from kglink.ie.store import OPENIE_FILE, merge_extractions, read_extractions, write_extractions
from kglink.io import replace_folder
from kglink.model import LateInteractionModel
from kglink.openie import OpenIEData, OpenIEDoc, load_openie
from kglink.passages import PassageIndex

logger = logging.getLogger(__name__)

ENTITIES_DIR = "entities"
PASSAGES_DIR = "passages"


@dataclass
class GraphBundle:
    """A knowledge graph, the entity index that links into it, and its dense passage index.

    ``passages`` is ``None`` for a graph built without passage encodings (it then
    cannot retrieve passages). ``openie`` holds the extractions the graph was built
    from and ``extractor`` the name of the backend that made them (saved as
    ``openie.json``; ``None`` for a folder saved before kglink kept them).
    """

    graph: KnowledgeGraph
    entities: EntityIndex
    passages: PassageIndex | None = None
    timings: dict[str, float] = field(default_factory=dict)
    openie: OpenIEData | None = None
    extractor: str = ""

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
        new_graph = KnowledgeGraph.from_openie(replace(data, docs=fresh))
        annotate_passages(new_graph, fresh)
        new_names = self.graph.merge(new_graph)
        if self.openie is not None:
            self.openie = merge_extractions(self.openie, replace(data, docs=fresh))
        if self.passages is not None:
            self.passages.add([d.passage for d in fresh if d.passage.id not in self.passages])
        new_ids = self.entities.add(new_names) if new_names else []
        pairs = self.entities.synonym_pairs(nodes=new_ids) if new_ids else []
        added = self.graph.add_synonyms(pairs)
        logger.info(
            "extended with %d passages, %d entities, %d synonym edges", len(fresh), len(new_ids), added
        )
        return {"new_passages": len(fresh), "new_entities": len(new_ids), "new_synonym_edges": added}

    def save(self, folder: str | os.PathLike) -> None:
        """Write the bundle to ``folder``, replacing it only once everything is written."""
        with replace_folder(folder) as tmp:
            self.graph.save(tmp)
            self.entities.save(tmp / ENTITIES_DIR)
            if self.passages is not None:
                self.passages.save(tmp / PASSAGES_DIR)
            if self.openie is not None:
                write_extractions(tmp / OPENIE_FILE, self.openie, self.extractor)

    @classmethod
    def load(cls, folder: str | os.PathLike, model: LateInteractionModel | None = None) -> GraphBundle:
        """Load a graph folder; ``model=None`` loads the model the index was built with."""
        folder = Path(folder)
        if not (folder / ENTITIES_DIR).is_dir():
            raise ArtifactError(
                f"{folder} is not a kglink graph folder (no {ENTITIES_DIR}/); build one with `kglink build`"
            )
        graph = KnowledgeGraph.load(folder)
        entities = EntityIndex.load(folder / ENTITIES_DIR, model)
        has_passages = (folder / PASSAGES_DIR).is_dir()
        passages = PassageIndex.load(folder / PASSAGES_DIR, entities.model) if has_passages else None
        openie, extractor = None, ""
        if (folder / OPENIE_FILE).is_file():
            openie, extractor = read_extractions(folder / OPENIE_FILE)
        return cls(graph, entities, passages, openie=openie, extractor=extractor)


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
) -> GraphBundle:
    """Build a graph from HippoRAG OpenIE JSON (and its corpus) with synonym edges.

    ``threshold=None`` takes the model's calibrated synonym threshold (``kglink train``
    stores it), else 0.8. ``openie`` is a file path or already loaded :class:`~kglink.openie.OpenIEData`
    (``corpus`` then does not apply). ``model`` is a loaded model, a checkpoint path /
    hub id, or ``None`` for the embedded default. Synonym pairs follow
    :meth:`EntityIndex.synonym_pairs`. With ``passages`` the passages are also encoded
    for dense retrieval.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    data = openie if isinstance(openie, OpenIEData) else load_openie(openie, corpus)
    graph = KnowledgeGraph.from_openie(data)
    annotate_passages(graph, data.docs)
    timings["graph_s"] = time.perf_counter() - start
    if not isinstance(model, LateInteractionModel):
        model = LateInteractionModel.from_pretrained(model, device=device)
    entities = EntityIndex(model, normalization=normalization, threshold=threshold)
    start = time.perf_counter()
    entities.add(graph.entity_names())
    timings["encode_s"] = time.perf_counter() - start
    start = time.perf_counter()
    pairs = entities.synonym_pairs(threshold, max_neighbors, min_alnum_chars)
    graph.add_synonyms(pairs)
    timings["synonyms_s"] = time.perf_counter() - start
    logger.info("built %r with %d synonym pairs", graph, len(pairs))
    passage_index = None
    if passages:
        start = time.perf_counter()
        passage_index = PassageIndex(model)
        passage_index.add([doc.passage for doc in data.docs])
        timings["passages_s"] = time.perf_counter() - start
    return GraphBundle(graph, entities, passage_index, timings, data, "openie-file")


def annotate_passages(graph: KnowledgeGraph, docs: tuple[OpenIEDoc, ...]) -> None:
    """Copy ``source``/``start``/``end`` of passages cut from longer documents onto their nodes."""
    for doc in docs:
        p = doc.passage
        if p.source:
            graph.graph.nodes[graph.passage_node(p.id)].update(source=p.source, start=p.start, end=p.end)
