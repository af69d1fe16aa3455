"""Small frozen result records returned by the public API."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SearchResult:
    """One hit of :meth:`LateInteractionIndex.search`: the stored text and its MaxSim score."""

    id: str
    text: str
    score: float


@dataclass(frozen=True)
class Match:
    """One candidate node for a mention, with its normalised score in [0, 1]."""

    node_id: str
    name: str
    score: float


@dataclass(frozen=True)
class LinkResult:
    """The ranked matches of one mention; ``linked`` is False when none reached the threshold.

    ``matches`` holds only the matches at or above the threshold; ``best`` is the
    top-scoring candidate whether or not it passed, so a caller can see how close it came.
    """

    mention: str
    matches: tuple[Match, ...]
    best: Match | None

    @property
    def linked(self) -> bool:
        return bool(self.matches)


@dataclass(frozen=True)
class SynonymPair:
    """Two entity nodes judged synonyms, ``source`` < ``target``, with the score that passed."""

    source: str
    target: str
    score: float
