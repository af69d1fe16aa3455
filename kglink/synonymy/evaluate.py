"""How well a scorer finds synonyms, measured on gold concept groups (HippoRAG's protocol).

Two tasks on the same :data:`~kglink.synonymy.groups.Groups`:

* **pairwise** (KG synonym edges): the pool is every distinct normalised name; each
  name takes its top ``max_neighbors`` neighbours; pairs at or above a threshold are
  predicted synonyms, scored against all gold pairs (two names sharing a concept).
* **linking**: one canonical name per concept (its most frequent mention) is the KG
  node; every other name is linked to the nodes; acc@1 / acc@5, and the precision /
  coverage trade-off of rejecting top links below a threshold.

Scorers: :class:`MaxSimScorer` (a late-interaction model through
:class:`~kglink.index.entities.EntityIndex`) and :class:`TfidfScorer` (char trigrams).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import combinations
from typing import Protocol

import numpy as np

from kglink.synonymy.groups import Groups, name_concepts

logger = logging.getLogger(__name__)

THRESHOLDS = tuple(round(0.01 * i, 2) for i in range(101))


class Scorer(Protocol):
    def pairs(self, names: list[str], k: int) -> dict[tuple[str, str], float]: ...
    def rank(self, queries: list[str], nodes: list[str], k: int) -> list[list[tuple[str, float]]]: ...


@dataclass(frozen=True)
class PRPoint:
    """Pairwise precision / recall / F1 when pairs scoring at least ``threshold`` are kept."""

    threshold: float
    precision: float
    recall: float
    f1: float
    predicted: int


@dataclass(frozen=True)
class LinkPoint:
    """Linking when top links below ``threshold`` are rejected: accuracy of the kept ones."""

    threshold: float
    precision: float
    coverage: float


@dataclass(frozen=True)
class PairwiseReport:
    names: int
    gold_pairs: int
    best: PRPoint
    at_default: PRPoint | None
    sweep: tuple[PRPoint, ...]


@dataclass(frozen=True)
class LinkingReport:
    queries: int
    nodes: int
    acc1: float
    acc5: float
    tradeoff: tuple[LinkPoint, ...]


def pairwise_report(
    scorer: Scorer, groups: Groups, default: float | None = None, max_neighbors: int = 100
) -> PairwiseReport:
    """Task A: precision / recall / F1 of predicted synonym pairs over a threshold sweep."""
    concepts = name_concepts(groups)
    names = sorted(concepts)
    gold = {(a, b) for a, b in combinations(names, 2) if concepts[a] & concepts[b]}
    scored = scorer.pairs(names, max_neighbors)
    sweep = tuple(_pr_point(t, scored, gold) for t in THRESHOLDS)
    best = max(sweep, key=lambda p: (p.f1, p.threshold))  # ties: the stricter threshold
    at_default = _pr_point(default, scored, gold) if default is not None else None
    return PairwiseReport(len(names), len(gold), best, at_default, sweep)


def linking_report(scorer: Scorer, groups: Groups, k: int = 5) -> LinkingReport:
    """Task B: link every non-canonical name to the canonical names; acc@1, acc@5, trade-off."""
    canonical = {c: min(names, key=lambda n: (-names[n], len(n), n)) for c, names in groups.items()}
    node_concepts: dict[str, set[str]] = {}
    for concept, name in canonical.items():
        node_concepts.setdefault(name, set()).add(concept)
    concepts = name_concepts(groups)
    queries = sorted(n for n in concepts if n not in node_concepts)
    nodes = sorted(node_concepts)
    ranked = scorer.rank(queries, nodes, k)
    hits = [[bool(node_concepts[node] & concepts[q]) for node, _ in row] for q, row in zip(queries, ranked)]
    top = np.array([row[0][1] if row else -np.inf for row in ranked])
    correct = np.array([bool(h and h[0]) for h in hits])
    tradeoff = []
    for t in THRESHOLDS:
        kept = top >= t
        precision = float(correct[kept].mean()) if kept.any() else 1.0
        tradeoff.append(LinkPoint(t, precision, float(kept.mean())))
    acc5 = float(np.mean([any(h) for h in hits]))
    return LinkingReport(len(queries), len(nodes), float(correct.mean()), acc5, tuple(tradeoff))


def _pr_point(threshold: float, scored: dict[tuple[str, str], float], gold: set) -> PRPoint:
    predicted = {pair for pair, s in scored.items() if s >= threshold}
    tp = len(predicted & gold)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return PRPoint(threshold, precision, recall, f1, len(predicted))


class MaxSimScorer:
    """Scores from a late-interaction model, normalised as the entity index does."""

    def __init__(self, model, normalization: str = "self", progress: bool | None = None) -> None:
        self.model = model
        self.normalization = normalization
        self.progress = progress

    def _index(self, names: list[str]):
        from kglink.index.entities import EntityIndex

        index = EntityIndex(self.model, normalization=self.normalization, threshold=0.0)
        index.add(names, progress=self.progress)
        return index

    def pairs(self, names: list[str], k: int) -> dict[tuple[str, str], float]:
        found = self._index(names).synonym_pairs(0.0, max_neighbors=k, min_alnum_chars=0)
        return {(p.source, p.target): p.score for p in found}

    def rank(self, queries: list[str], nodes: list[str], k: int) -> list[list[tuple[str, float]]]:
        results = self._index(nodes).link(queries, top_k=k, threshold=0.0)
        return [[(m.node_id, m.score) for m in r.matches] for r in results]


class TfidfScorer:
    """Cosine of character-trigram TF-IDF vectors (fitted on the names compared)."""

    def pairs(self, names: list[str], k: int) -> dict[tuple[str, str], float]:
        from kglink.synonymy.tfidf import TfidfTrigrams

        sim = TfidfTrigrams().fit(names).similarity(names, names)
        np.fill_diagonal(sim, -np.inf)
        out: dict[tuple[str, str], float] = {}
        for i, row in enumerate(sim):
            for j in np.argsort(-row, kind="stable")[:k]:
                if j == i:
                    continue
                key = (names[i], names[j]) if names[i] < names[j] else (names[j], names[i])
                out[key] = max(float(row[j]), out.get(key, -1.0))
        return out

    def rank(self, queries: list[str], nodes: list[str], k: int) -> list[list[tuple[str, float]]]:
        from kglink.synonymy.tfidf import TfidfTrigrams

        sim = TfidfTrigrams().fit(queries + nodes).similarity(queries, nodes)
        order = np.argsort(-sim, axis=1, kind="stable")[:, :k]
        return [[(nodes[j], float(sim[i, j])) for j in row] for i, row in enumerate(order)]


def pick_threshold(report: PairwiseReport, target_precision: float | None = None) -> float:
    """The best-F1 threshold, or the lowest whose precision reaches ``target_precision``."""
    if target_precision is None:
        return report.best.threshold
    reached = [p.threshold for p in report.sweep if p.predicted and p.precision >= target_precision]
    if not reached:
        logger.warning("no threshold reaches precision %.2f; using 1.0", target_precision)
        return 1.0
    return min(reached)
