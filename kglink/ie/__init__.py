"""Information extraction: entities and ``(subject, predicate, object)`` triples per passage.

A backend is any object with a ``name`` and an ``extract(passages)`` method returning one
:class:`Extraction` per passage (see :class:`Extractor`). :func:`write_openie` saves the
results in HippoRAG's OpenIE JSON layout, which :func:`kglink.openie.load_openie` reads
back, so an extraction can be inspected, edited and reused.

>>> from kglink.openie import Passage
>>> found = Extraction(("Paris", "France"), (("Paris", "is in", "France"),))
>>> doc = openie_doc(Passage("p1", "Paris", "Paris is in France."), found)
>>> doc["extracted_triples"]
[['Paris', 'is in', 'France']]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kglink.io import atomic_write_json
from kglink.openie import Passage, Triple


@dataclass(frozen=True)
class Extraction:
    """What a backend found in one passage: entity strings and triples, in order."""

    entities: tuple[str, ...]
    triples: tuple[Triple, ...]


class Extractor(Protocol):
    """An extraction backend: ``extract`` returns one :class:`Extraction` per passage."""

    name: str

    def extract(self, passages: Sequence[Passage]) -> list[Extraction]: ...


def openie_doc(passage: Passage, extraction: Extraction) -> dict[str, Any]:
    """One doc of HippoRAG's OpenIE JSON (v1 layout: ``idx`` is the passage id)."""
    return {
        "idx": passage.id,
        "title": passage.title,
        "passage": passage.content,
        "extracted_entities": list(extraction.entities),
        "extracted_triples": [list(t) for t in extraction.triples],
    }


def write_openie(
    path: str | os.PathLike, passages: Sequence[Passage], extractions: Sequence[Extraction], extractor: str
) -> None:
    """Write passages and their extractions as HippoRAG OpenIE JSON, atomically."""
    docs = [openie_doc(p, e) for p, e in zip(passages, extractions, strict=True)]
    atomic_write_json(path, {"docs": docs, "extractor": extractor})
