"""Information extraction: entities and ``(subject, predicate, object)`` triples per passage.

A backend is any object with a ``name`` and an ``extract(passages)`` method returning one
:class:`Extraction` per passage (see :class:`Extractor`): :mod:`kglink.ie.spacy` (offline
NER and dependency parses) and :mod:`kglink.ie.llm` (HippoRAG's prompts on any
OpenAI-compatible endpoint). :func:`write_openie` saves the results in HippoRAG's OpenIE
JSON layout, which :func:`kglink.corpus.load_openie` reads back, so an extraction can be
inspected, edited and reused.

>>> import json, os, tempfile
>>> from kglink.corpus import Passage
>>> found = Extraction(("Paris", "France"), (("Paris", "is in", "France"),))
>>> path = os.path.join(tempfile.mkdtemp(), "openie.json")
>>> write_openie(path, [Passage("p1", "Paris", "Paris is in France.")], [found], "by-hand")
>>> json.load(open(path))["docs"][0]["extracted_triples"]
[['Paris', 'is in', 'France']]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from kglink.corpus import OpenIEData, OpenIEDoc, Passage, Triple, write_extractions


@dataclass(frozen=True)
class Extraction:
    """What a backend found in one passage: entity strings and triples, in order."""

    entities: tuple[str, ...]
    triples: tuple[Triple, ...]


class Extractor(Protocol):
    """An extraction backend: ``extract`` returns one :class:`Extraction` per passage."""

    name: str

    def extract(self, passages: Sequence[Passage]) -> list[Extraction]: ...


def write_openie(
    path: str | os.PathLike, passages: Sequence[Passage], extractions: Sequence[Extraction], extractor: str
) -> None:
    """Write passages and their extractions as HippoRAG OpenIE JSON, atomically."""
    docs = [OpenIEDoc(p, e.entities, e.triples) for p, e in zip(passages, extractions, strict=True)]
    write_extractions(path, OpenIEData(tuple(docs), "v1", 0), extractor)
