"""HippoRAG OpenIE results (v1 and v2 layouts): read them, and write a graph's own record of them.

Both HippoRAG layouts hold ``{"docs": [...]}``; each doc has the ``passage`` the
OpenIE was run on, its ``extracted_entities`` and ``extracted_triples``:

* **v1** (HippoRAG): docs also carry ``title`` (and often ``text``); ``idx`` is an
  int or absent.
* **v2** (HippoRAG 2): ``idx`` is ``"chunk-" + md5(passage)``; there is no title, and
  the passage may be ``"title\\ntext"`` as HippoRAG 2 formats its corpus.

A passage's id is :func:`passage_id` of the OpenIE ``passage`` string, whatever the
layout, so the same passage gets the same id from either file (a v2 ``idx`` is kept
as given; a mismatch with the computed id is logged). When a corpus is joined, ids
come from the corpus: ``passage_id(title + "\\n" + text)`` unless a record has its own.

A graph folder keeps the extractions it was built from as ``openie.json``, in the same
layout (:func:`write_extractions`): each doc as :func:`openie_doc` writes it (``idx``,
``title``, ``passage``, ``extracted_entities``, ``extracted_triples``) plus the passage's
``source``, ``start`` and ``end`` when it was cut from a longer document; the top level
names the ``extractor``. HippoRAG and :func:`load_openie` read the file as any OpenIE
output; :func:`read_extractions` reads it back exactly, ids and metadata included, so a
rebuild can reuse the extractions of unchanged passages.

>>> import tempfile, os
>>> doc = OpenIEDoc(Passage("d1#0", "Paris", "Paris is in France.", "d1", 0, 19), ("Paris",), ())
>>> path = os.path.join(tempfile.mkdtemp(), "openie.json")
>>> write_extractions(path, OpenIEData((doc,), "v1", 0), "spacy")
>>> data, extractor = read_extractions(path)
>>> data.docs[0].passage.id, data.docs[0].passage.source, data.docs[0].passage.end, extractor
('d1#0', 'd1', 19, 'spacy')
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from typing import Any

from kglink.artifacts import atomic_write_json, read_artifact_json, read_json
from kglink.corpus.documents import Passage, load_corpus, passage_id
from kglink.errors import ArtifactError, InputError

logger = logging.getLogger(__name__)

OPENIE_FILE = "openie.json"

Triple = tuple[str, str, str]


@dataclass(frozen=True)
class OpenIEDoc:
    """A passage with the entity strings and ``(subject, predicate, object)`` triples in it.

    ``malformed`` counts the triples of the doc that were skipped as malformed.
    """

    passage: Passage
    entities: tuple[str, ...]
    triples: tuple[Triple, ...]
    malformed: int = dataclass_field(default=0, compare=False)


@dataclass(frozen=True)
class OpenIEData:
    """All docs of one OpenIE file; ``layout`` is ``"v1"`` or ``"v2"``."""

    docs: tuple[OpenIEDoc, ...]
    layout: str
    malformed_triples: int


def load_openie(
    path: str | os.PathLike,
    corpus: str | os.PathLike | Sequence[Passage] | None = None,
) -> OpenIEData:
    """Load a HippoRAG OpenIE results file, optionally joined with its corpus.

    Malformed triples (not exactly three non-empty strings) are skipped and counted;
    empty entity strings are skipped. With ``corpus`` (a path for :func:`load_corpus`
    or a list of passages), docs are matched by text: an OpenIE ``passage`` equal to
    a corpus entry's ``title + "\\n" + text`` or to its ``text``. The corpus then gives
    every passage its id, title and text (see :func:`load_corpus`; for HippoRAG files,
    whose passages are ``"title\\ntext"``, that id equals the OpenIE one). Docs come in
    corpus order, corpus passages with no OpenIE doc as docs without entities or
    triples, followed by the OpenIE docs that are not in the corpus.

    Raises
    ------
    InputError
        If a file is unreadable or a doc lacks its passage or entity/triple lists;
        the message names the file, the doc index and the field.
    """
    raw = read_json(path, "OpenIE file")
    docs_raw = raw.get("docs") if isinstance(raw, dict) else None
    if not isinstance(docs_raw, list):
        raise InputError(
            f"OpenIE file {path} has no 'docs' list at the top level; expected HippoRAG "
            'OpenIE results {"docs": [{"passage", "extracted_entities", '
            '"extracted_triples"}, ...]}'
        )
    layout = _detect_layout(docs_raw)
    parsed = [_parse_doc(doc, i, path, layout) for i, doc in enumerate(docs_raw)]
    docs = [doc for doc, _ in parsed]
    malformed = sum(bad for _, bad in parsed)
    if malformed:
        logger.warning("%s: skipped %d malformed triples", path, malformed)
    texts = [d["passage"] for d in docs_raw]
    _check_ids(docs, texts, path)
    if corpus is not None:
        passages = load_corpus(corpus) if isinstance(corpus, (str, os.PathLike)) else corpus
        docs = _join_corpus(docs, texts, list(passages))
    return OpenIEData(docs=tuple(docs), layout=layout, malformed_triples=malformed)


def _detect_layout(docs: list[Any]) -> str:
    """``"v2"`` if any doc's ``idx`` is a ``"chunk-..."`` string, else ``"v1"``."""
    for doc in docs:
        idx = doc.get("idx") if isinstance(doc, dict) else None
        if isinstance(idx, str) and idx.startswith("chunk-"):
            return "v2"
    return "v1"


def _parse_doc(doc: Any, i: int, path: str | os.PathLike, layout: str) -> tuple[OpenIEDoc, int]:
    where = f"OpenIE file {path}, docs[{i}]"
    if not isinstance(doc, dict):
        raise InputError(f"{where} is a {type(doc).__name__}; each doc must be an object")
    passage = doc.get("passage")
    if not isinstance(passage, str) or not passage.strip():
        raise InputError(f"{where} has no non-empty 'passage' string; add the passage text")
    for field in ("extracted_entities", "extracted_triples"):
        if not isinstance(doc.get(field), list):
            found = type(doc.get(field)).__name__ if field in doc else "missing"
            raise InputError(f"{where}['{field}'] is {found}, not a list; use [] for none")
    names = (e.strip() for e in doc["extracted_entities"] if isinstance(e, str))
    entities = tuple(dict.fromkeys(name for name in names if name))
    triples, malformed = _parse_triples(doc["extracted_triples"])
    return OpenIEDoc(_doc_passage(doc, passage, layout), entities, triples, malformed), malformed


def _parse_triples(items: list[Any]) -> tuple[tuple[Triple, ...], int]:
    """Keep triples of exactly three non-empty strings (stripped); count the rest."""
    good: list[Triple] = []
    for t in items:
        if isinstance(t, list) and len(t) == 3 and all(isinstance(p, str) for p in t):
            s, p, o = (part.strip() for part in t)
            if s and p and o:
                good.append((s, p, o))
    return tuple(good), len(items) - len(good)


def _doc_passage(doc: dict[str, Any], passage: str, layout: str) -> Passage:
    pid = passage_id(passage)
    idx = doc.get("idx")
    if layout == "v2" and isinstance(idx, str) and idx.startswith("chunk-"):
        pid = idx
    title = doc.get("title") if isinstance(doc.get("title"), str) else ""
    text = doc.get("text")
    if not isinstance(text, str) or not text:
        prefix = f"{title}\n"
        text = passage[len(prefix) :] if title and passage.startswith(prefix) else passage
    return Passage(id=pid, title=title, text=text)


def _check_ids(docs: list[OpenIEDoc], raw: list[str], path: str | os.PathLike) -> None:
    """Warn once about given ids that are not ``passage_id(passage)`` and about repeats."""
    n_odd = sum(doc.passage.id != passage_id(text) for doc, text in zip(docs, raw, strict=True))
    if n_odd:
        logger.warning("%s: kept %d given idx values that are not md5 of the passage", path, n_odd)
    n_dup = len(docs) - len({d.passage.id for d in docs})
    if n_dup:
        logger.warning("%s: %d docs repeat an earlier passage; they share its node", path, n_dup)


def _join_corpus(docs: list[OpenIEDoc], raw: list[str], corpus: list[Passage]) -> list[OpenIEDoc]:
    """Corpus order first (with or without an OpenIE doc), then OpenIE docs not in the corpus.

    ``raw`` holds each doc's OpenIE ``passage`` string; a corpus entry matches the first
    doc whose passage is its ``title + "\\n" + text``, else its ``text``.
    """
    by_text: dict[str, int] = {}
    for i, passage in enumerate(raw):
        by_text.setdefault(passage, i)
    out: list[OpenIEDoc] = []
    used: set[int] = set()
    seen: set[str] = set()
    for p in corpus:
        if p.id in seen:
            continue
        seen.add(p.id)
        i = by_text.get(p.content, by_text.get(p.text))
        if i is None or i in used:
            out.append(OpenIEDoc(p, (), ()))
        else:
            used.add(i)
            out.append(OpenIEDoc(p, docs[i].entities, docs[i].triples, docs[i].malformed))
    extra = [doc for i, doc in enumerate(docs) if i not in used]
    if len(seen) < len(corpus):
        logger.warning("corpus: skipped %d repeated passages", len(corpus) - len(seen))
    logger.info(
        "corpus: %d passages matched an OpenIE doc, %d had none; %d OpenIE docs not in corpus",
        len(used),
        len(seen) - len(used),
        len(extra),
    )
    return out + extra


def openie_doc(doc: OpenIEDoc) -> dict[str, Any]:
    """One doc of HippoRAG's OpenIE JSON (v1 layout: ``idx`` is the passage id), with its offsets.

    >>> passage = Passage("p1", "Paris", "Paris is in France.")
    >>> doc = OpenIEDoc(passage, ("Paris",), (("Paris", "is in", "France"),))
    >>> openie_doc(doc)["extracted_triples"]
    [['Paris', 'is in', 'France']]
    """
    p = doc.passage
    record = {
        "idx": p.id,
        "title": p.title,
        "passage": p.content,
        "extracted_entities": list(doc.entities),
        "extracted_triples": [list(t) for t in doc.triples],
    }
    if p.source:
        record.update(source=p.source, start=p.start, end=p.end)
    return record


def write_extractions(path: str | os.PathLike, data: OpenIEData, extractor: str) -> None:
    """Write ``data`` as HippoRAG OpenIE JSON with passage metadata, atomically."""
    docs = [openie_doc(doc) for doc in data.docs]
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
