"""Indexes of token matrices, searched by MaxSim; the one place ``faiss`` is imported.

- :mod:`~kglink.index.tokens`: :class:`LateInteractionIndex`, token vectors per text with
  faiss candidates and an exact MaxSim rerank;
- :mod:`~kglink.index.entities`: :class:`EntityIndex`, a graph's node names, linked to and
  paired as synonyms by normalised MaxSim;
- :mod:`~kglink.index.passages`: :class:`PassageIndex`, passages for dense retrieval.
"""

from kglink.index.entities import DEFAULT_THRESHOLD, LINK_NORMALIZATIONS, EntityIndex
from kglink.index.passages import PassageIndex
from kglink.index.tokens import LateInteractionIndex

__all__ = [
    "DEFAULT_THRESHOLD",
    "LINK_NORMALIZATIONS",
    "EntityIndex",
    "LateInteractionIndex",
    "PassageIndex",
]
