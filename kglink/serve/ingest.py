"""``POST /v1/graphs/{g}/passages``: new passages ingested as ``kglink build --update --corpus`` does.

The job cuts the passages as the corpus path does (:func:`kglink.corpus.chunk_documents`,
content-hash ids), leaves out those the graph holds, and extracts the rest with the
graph's extractor in the job thread (so other writes go on meanwhile). The writer then
runs :func:`kglink.bundle.update_graph_from_corpus` on its copy with those extractions:
new passage and entity nodes, only the new names encoded, new-vs-all synonym pairs, the
person's decisions applied, passages and facts indexed, ``openie.json`` extended.

A graph built from an OpenIE file has no extractor that runs on new text: its passages
are refused (409 ``no_extractor``). One built with spaCy gets spaCy's default pipeline;
a server started with an ``extractor`` uses that for every graph.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from kglink.bundle import update_graph_from_corpus
from kglink.corpus import DEFAULT_CHUNK_TOKENS, Passage, chunk_documents, passage_id
from kglink.ie import Extraction, Extractor
from kglink.serve.errors import ApiError
from kglink.serve.jobs import Job
from kglink.serve.store import PARTS

logger = logging.getLogger(__name__)

_spacy: dict[str, Extractor] = {}
_spacy_lock = threading.Lock()


class _Extracted:
    """An extractor that answers with extractions already made (in the job thread)."""

    def __init__(self, name: str, found: dict[str, Extraction]) -> None:
        self.name, self.found = name, found

    def extract(self, passages: Sequence[Passage]) -> list[Extraction]:
        return [self.found[p.id] for p in passages]


def graph_extractor(service, graph: str) -> Extractor:
    """The extractor for new passages of ``graph``, or a 409 that says why there is none."""
    if service.extractor is not None:
        return service.extractor
    made_by = service.store(graph).snapshot.bundle.extractor
    if any(part.startswith("spacy:") for part in made_by.split("+")):
        from kglink.ie.spacy import SpacyExtractor

        with _spacy_lock:  # loaded once per process, on first use
            if "default" not in _spacy:
                _spacy["default"] = SpacyExtractor(show_progress=False)
            return _spacy["default"]
    source = "an OpenIE file" if made_by in ("", "openie-file") else f"extractions by {made_by}"
    raise ApiError(
        409,
        "no_extractor",
        f"graph {graph!r} was built from {source}, whose extractor cannot run on "
        "new text; rebuild it from a corpus (`kglink build --corpus ...`) or add passages with "
        "`kglink build --update --openie FILE`",
        {"extractor": made_by},
    )


def passages_of(records: Sequence[tuple[str, str]], model) -> list[Passage]:
    """``(title, text)`` records cut into passages as the corpus path cuts documents."""
    docs = []
    for title, text in records:
        content = f"{title}\n{text}" if title else text
        docs.append(Passage(passage_id(content), title, text))
    return chunk_documents(docs, model, DEFAULT_CHUNK_TOKENS)


def start_ingest(service, graph: str, records: Sequence[tuple[str, str]]) -> Job:
    """Queue the ingest job for ``records`` on ``graph``; the extractor is checked first (409)."""
    extractor = graph_extractor(service, graph)

    def run(job: Job) -> dict:
        store = service.store(graph)
        passages = passages_of(records, store.model)
        known = set(store.snapshot.bundle.graph.passage_ids())
        fresh = [p for p in passages if p.id not in known]
        found = dict(zip((p.id for p in fresh), extractor.extract(fresh))) if fresh else {}
        extracted = _Extracted(extractor.name, found)

        def write(bundle):  # passages are never removed: those unknown now are in `found`
            return update_graph_from_corpus(bundle, passages, extracted, chunk_tokens=None)

        counts = store.submit(write, frozenset(PARTS)).result()
        logger.info("job %s on %s: %s", job.id, graph, counts)
        return {**counts, "version": store.snapshot.version}

    return service.jobs.start("passages", graph, len(records), run)
