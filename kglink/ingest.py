"""From a raw corpus to a graph: chunk, extract (any :class:`~kglink.ie.Extractor`), build or update.

:func:`build_graph_from_corpus` reads a corpus (see :mod:`kglink.corpus`), cuts it into
passages of ``chunk_tokens`` model tokens, runs the extractor on them and builds the
graph with :func:`~kglink.bundle.build_graph`. Given the extractions of an earlier
build (``reuse``, e.g. the ``openie.json`` of the graph folder being rebuilt), passages
with the same id and content that the same extractor has already seen are not
extracted again. :func:`update_graph_from_corpus` adds to a built graph only the
passages it lacks: their extraction, their new entity names, and new-vs-all synonym
pairs.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence

from kglink.bundle import GraphBundle, build_graph
from kglink.corpus import DEFAULT_CHUNK_TOKENS, OpenIEData, OpenIEDoc, Passage, load_passages
from kglink.encoder.model import LateInteractionModel
from kglink.ie import Extraction, Extractor

logger = logging.getLogger(__name__)


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
) -> GraphBundle:
    """Build a graph from a raw corpus with ``extractor``.

    ``corpus`` is a path for :func:`kglink.corpus.load_documents` (JSON, JSONL, or a
    folder of ``.txt``/``.md`` files), whose documents are cut into passages of at most
    ``chunk_tokens`` tokens of the model's tokenizer (``0`` or ``None``: kept whole), or
    a list of passages, used as they are. ``reuse`` is ``(extractions, extractor name)``
    of an earlier build, as :func:`kglink.corpus.read_extractions` returns. The other
    arguments are those of :func:`~kglink.bundle.build_graph`. The bundle's ``timings``
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
        data, model=model, threshold=threshold, normalization=normalization, passages=passages
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
    new-vs-all synonym pairs scored (:meth:`~kglink.bundle.GraphBundle.extend`).
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
