"""A graph folder's record of its extractions: ``openie.json``, in HippoRAG's OpenIE layout.

Each doc is what :func:`kglink.ie.openie_doc` writes (``idx``, ``title``, ``passage``,
``extracted_entities``, ``extracted_triples``) plus the passage's ``source``, ``start``
and ``end`` when it was cut from a longer document; the top level names the
``extractor``. HippoRAG and :func:`kglink.openie.load_openie` read the file as any
OpenIE output; :func:`read_extractions` reads it back exactly, ids and metadata
included, so a rebuild can reuse the extractions of unchanged passages.

>>> import tempfile, os
>>> from kglink.openie import OpenIEData, OpenIEDoc
>>> doc = OpenIEDoc(Passage("d1#0", "Paris", "Paris is in France.", "d1", 0, 19), ("Paris",), ())
>>> path = os.path.join(tempfile.mkdtemp(), "openie.json")
>>> write_extractions(path, OpenIEData((doc,), "v1", 0), "spacy")
>>> data, extractor = read_extractions(path)
>>> data.docs[0].passage.id, data.docs[0].passage.source, data.docs[0].passage.end, extractor
('d1#0', 'd1', 19, 'spacy')
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from kglink.errors import ArtifactError
from kglink.ie import Extraction, openie_doc
from kglink.io import atomic_write_json, read_artifact_json
from kglink.openie import OpenIEData, OpenIEDoc, Passage, _parse_doc

OPENIE_FILE = "openie.json"


def write_extractions(path: str | os.PathLike, data: OpenIEData, extractor: str) -> None:
    """Write ``data`` as HippoRAG OpenIE JSON with passage metadata, atomically."""
    docs = []
    for doc in data.docs:
        record = openie_doc(doc.passage, Extraction(doc.entities, doc.triples))
        p = doc.passage
        if p.source:
            record.update(source=p.source, start=p.start, end=p.end)
        docs.append(record)
    atomic_write_json(path, {"docs": docs, "extractor": extractor})


def read_extractions(path: str | os.PathLike) -> tuple[OpenIEData, str]:
    """Read a file :func:`write_extractions` wrote: the docs (ids as written) and the extractor name.

    Raises
    ------
    ArtifactError
        If the file is missing, corrupt, or not in that layout.
    """
    raw = read_artifact_json(path, "extraction record")
    docs_raw = raw.get("docs") if isinstance(raw, dict) else None
    if not isinstance(docs_raw, list):
        raise ArtifactError(f"{path} has no 'docs' list; delete it or rebuild the graph with `kglink build`")
    docs = []
    for i, rec in enumerate(docs_raw):
        try:
            doc, _ = _parse_doc(rec, i, path, "v2")
            docs.append(replace(doc, passage=_passage(rec, doc.passage)))
        except (ValueError, TypeError, KeyError) as e:
            raise ArtifactError(f"{path}, docs[{i}] is unusable ({e}); rebuild the graph") from None
    return OpenIEData(tuple(docs), "v1", 0), str(raw.get("extractor", ""))


def _passage(rec: dict[str, Any], parsed: Passage) -> Passage:
    """The passage with its id as written (``idx``) and its metadata."""
    source = rec.get("source", "")
    start, end = rec.get("start", -1), rec.get("end", -1)
    if not (isinstance(source, str) and isinstance(start, int) and isinstance(end, int)):
        raise ValueError("'source' must be a string, 'start' and 'end' integers")
    return Passage(str(rec["idx"]), parsed.title, parsed.text, source, start, end)


def merge_extractions(old: OpenIEData, new: OpenIEData) -> OpenIEData:
    """The docs of ``old``, then those of ``new``; a new doc replaces an old one of the same passage id."""
    docs: dict[str, OpenIEDoc] = {d.passage.id: d for d in old.docs}
    docs.update((d.passage.id, d) for d in new.docs)
    return OpenIEData(tuple(docs.values()), old.layout, old.malformed_triples + new.malformed_triples)
