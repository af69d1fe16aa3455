"""The records that linking, synonymy and retrieval return: small, frozen, plain Python.

One rule places a record: a record that crosses a folder boundary (returned by one
concept, read by another: the indexes and the graph both speak of :class:`SynonymPair`,
the retriever and RAG of :class:`PassageHit`) lives here, so those folders share it
without importing each other; a record used inside one folder only lives beside the code
that returns it (``Mention`` in :mod:`kglink.retrieval.mentions`, the synonymy reports in
:mod:`kglink.synonymy.evaluate`, ``TrainResult`` in :mod:`kglink.training`).
"""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass(frozen=True)
class Seed:
    """A linked question entity: the mention, the node it links to, and its weights.

    ``source`` says where it came from: ``"ngram"`` (a span of the question linked to the
    node; ``mention`` is the span), ``"fact"`` (a subject or object of a fact the question
    matched; ``mention`` is the fact) or ``"ngram+fact"`` (both: the weights add up).
    """

    mention: str
    node: str
    score: float
    weight: float
    source: str = "ngram"


@dataclass(frozen=True)
class PassageHit:
    """One retrieved passage, with the seeds that led there (empty for dense retrieval).

    ``via`` says what put it at its rank: ``"graph"`` (the walk; ``score`` is its
    PageRank mass), ``"dense"`` (the dense index, ``score`` its raw MaxSim, or in a
    graph ranking one of the dense index's first passages, kept ahead of the walk's:
    ``score`` is then still its PageRank mass) or ``"bm25"``.
    """

    passage_id: str
    title: str
    text: str
    score: float
    seeds: tuple[Seed, ...]
    via: str = "graph"
