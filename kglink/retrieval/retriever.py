"""Graph-based passage retrieval: link the question's entities, then Personalized PageRank.

Seeds are the linked entity nodes, each weighted by its link score divided by the
number of passages that mention it (HippoRAG's node specificity). Passages are
scored by their PPR mass (``"v2"``, HippoRAG 2: passage nodes in the graph) or by
the summed mass of their entities (``"v1"``, HippoRAG: PPR over entities only). A
question that links to nothing falls back to dense passage retrieval.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from kglink.bundle import GraphBundle
from kglink.checks import check_count, check_text, check_threshold
from kglink.errors import InputError
from kglink.graph import ENTITY_PREFIX, PASSAGE_PREFIX
from kglink.index.facts import fact_seeds
from kglink.ppr import graph_matrix, personalized_pagerank
from kglink.results import PassageHit, Seed
from kglink.retrieval.mentions import Mention, NgramMentions
from kglink.text import normalize_name

logger = logging.getLogger(__name__)

SCORINGS = ("v1", "v2")
SEED_SOURCES = ("ngrams", "facts", "both")


class GraphRetriever:
    """HippoRAG-style retrieval over a :class:`GraphBundle` and its :class:`PassageIndex`.

    Parameters
    ----------
    bundle
        The graph with its entity index and passage index (dense fallback and blend).
    mention_finder
        ``question -> list[Mention | str]``; default :class:`NgramMentions`. (``extractor``,
        its name in kglink 0.1, still works: "extractor" now names passage extraction only.)
    link_threshold
        Normalised link score a question entity must reach to seed the walk;
        ``None`` uses the entity index's threshold (the synonym threshold).
    damping
        PPR damping (probability of following an edge), 0.5 as in HippoRAG.
    scoring
        ``"v2"`` (passage nodes' mass, default) or ``"v1"`` (summed entity mass).
    passage_node_weight
        HippoRAG 2's blend: passage nodes also restart with this weight times their
        min-max-normalised dense score (``v2`` only). Dense scores come for the
        ``dense_candidates`` best passages (the rest get 0), so useful weights are larger
        than HippoRAG 2's 0.05, which spreads over every passage. Off by default: on
        the MuSiQue dev set 0.5 added about 1 point of recall for twice the latency
        (``benchmarks/bench_retrieval.py``).
    use_synonyms
        Walk synonym edges (False reproduces the "no synonym edges" ablation).
    seeds
        Where seeds come from: ``"ngrams"`` (question spans linked to entity names, the
        default), ``"facts"`` (HippoRAG 2: the subjects and objects of the ``fact_top_k``
        facts that best match the question; needs a graph built with ``--facts``) or
        ``"both"``.
    """

    def __init__(
        self,
        bundle: GraphBundle,
        *,
        mention_finder: Callable[[str], Sequence[Mention | str]] | None = None,
        link_threshold: float | None = None,
        damping: float = 0.5,
        scoring: str = "v2",
        passage_node_weight: float = 0.0,
        dense_candidates: int = 200,
        use_synonyms: bool = True,
        seeds: str = "ngrams",
        fact_top_k: int = 5,
        extractor: Callable[[str], Sequence[Mention | str]] | None = None,
    ) -> None:
        if scoring not in SCORINGS:
            raise InputError(f"scoring must be one of {SCORINGS}, got {scoring!r}")
        if seeds not in SEED_SOURCES:
            raise InputError(f"seeds must be one of {SEED_SOURCES}, got {seeds!r}")
        if seeds != "ngrams" and bundle.facts is None:
            raise InputError("this graph has no fact index; rebuild it with `kglink build --facts`")
        self.seed_source, self.fact_top_k = seeds, check_count(fact_top_k, "fact_top_k")
        if link_threshold is not None:
            check_threshold(link_threshold, "link_threshold")
        if not (isinstance(damping, (int, float)) and 0.0 < damping < 1.0):
            raise InputError(f"damping must be a number in (0, 1), got {damping!r}")
        check_count(dense_candidates, "dense_candidates")
        if bundle.passages is None:
            raise InputError("this graph has no passage index; rebuild it with `kglink build --passages`")
        self.bundle, self.passages = bundle, bundle.passages
        if extractor is not None:
            warnings.warn("GraphRetriever(extractor=) is now mention_finder=", DeprecationWarning, 2)
        self.mention_finder = mention_finder or extractor or NgramMentions()
        self.link_threshold = bundle.entities.threshold if link_threshold is None else link_threshold
        self.damping, self.dense_candidates = damping, dense_candidates
        self.scoring, self.passage_node_weight = scoring, passage_node_weight
        kinds = {"relation", "mention", "synonym"} if use_synonyms else {"relation", "mention"}
        if scoring == "v1":
            kinds.discard("mention")
        self.matrix = graph_matrix(bundle.graph.graph, edge_kinds=kinds)
        nodes = self.matrix.nodes
        self._passage_rows = np.array([i for i, n in enumerate(nodes) if n.startswith(PASSAGE_PREFIX)])
        self._passage_ids = [nodes[i][len(PASSAGE_PREFIX) :] for i in self._passage_rows]
        self._entity_passages = self._entity_passage_matrix() if scoring == "v1" else None
        self._bm25 = None  # built on first use

    def seeds(self, question: str) -> list[Seed]:
        """The question's seeds, from its linked spans, its matching facts, or both."""
        check_text(question, "the question")
        ngram = self.ngram_seeds(question) if self.seed_source != "facts" else []
        fact = self.fact_seeds(question) if self.seed_source != "ngrams" else []
        merged = {s.node: s for s in ngram}
        for s in fact:
            if s.node in merged:
                old = merged[s.node]
                s = Seed(old.mention, s.node, max(old.score, s.score), old.weight + s.weight, "ngram+fact")
            merged[s.node] = s
        return list(merged.values())

    def fact_seeds(self, question: str) -> list[Seed]:
        """HippoRAG 2's seeds: entities of the best-matching facts, weighted by fact score and specificity."""
        facts = self.bundle.facts.search(question, self.fact_top_k)
        graph = self.bundle.graph.graph
        passages_of, best = {}, {}  # best: the best fact that reached each node, to show
        for triple, score in facts:
            for name in (normalize_name(triple[0]), normalize_name(triple[2])):
                node = graph.nodes.get(ENTITY_PREFIX + name)
                if node is not None:
                    passages_of[name] = len(node["passages"])
                    best.setdefault(name, (" ".join(triple), score))
        weights = fact_seeds(facts, passages_of)
        return [Seed(best[n][0], ENTITY_PREFIX + n, best[n][1], w, "fact") for n, w in weights.items()]

    def ngram_seeds(self, question: str) -> list[Seed]:
        """Link the question's mentions; keep the best non-overlapping ones above the threshold."""
        mentions = [m if isinstance(m, Mention) else Mention(m) for m in self.mention_finder(question)]
        if not mentions:
            return []
        links = self.bundle.entities.link([m.text for m in mentions], top_k=1, threshold=self.link_threshold)
        ranked = sorted(
            ((r.matches[0], m) for r, m in zip(links, mentions) if r.linked),
            key=lambda x: (-x[0].score, -(x[1].end - x[1].start)),
        )
        chosen: list[tuple] = []
        for match, mention in ranked:
            if not any(mention.overlaps(m) for _, m in chosen):
                chosen.append((match, mention))
        graph = self.bundle.graph.graph
        out = {}
        for match, mention in chosen:
            node = ENTITY_PREFIX + match.node_id
            n_passages = max(len(graph.nodes[node]["passages"]), 1)
            if node not in out:  # two mentions of one node: the better link counts
                out[node] = Seed(mention.text, node, match.score, match.score / n_passages)
        return list(out.values())

    def retrieve(self, question: str, top_k: int = 5) -> list[PassageHit]:
        """The ``top_k`` passages for ``question``, best first."""
        top_k = check_count(top_k, "top_k")
        seeds = self.seeds(question)
        dense = self.passages.scores(question, self.dense_candidates) if (not seeds or self._blend()) else {}
        if not seeds:
            logger.info("no entity of %r linked; dense retrieval", question)
            return self._hits(sorted(dense.items(), key=lambda x: -x[1])[:top_k], ())
        restart = np.zeros(len(self.matrix.nodes))
        for seed in seeds:
            restart[self.matrix.index[seed.node]] += seed.weight
        if self._blend():
            restart[self._passage_rows] += self.passage_node_weight * _minmax(
                np.array([dense.get(pid, 0.0) for pid in self._passage_ids])
            )
        mass = personalized_pagerank(self.matrix, restart, damping=self.damping)
        scores = mass[self._passage_rows] if self.scoring == "v2" else self._entity_passages @ mass
        order = np.argsort(-scores, kind="stable")[:top_k]
        return self._hits([(self._passage_ids[i], float(scores[i])) for i in order], tuple(seeds))

    def retrieve_dense(self, question: str, top_k: int = 5) -> list[PassageHit]:
        """The ``top_k`` passages by dense MaxSim alone (the baseline), with no seeds."""
        check_text(question, "the question")
        return self._hits(self.passages.search([question], top_k)[0], ())

    def retrieve_bm25(self, question: str, top_k: int = 5) -> list[PassageHit]:
        """The ``top_k`` passages by BM25 over their title and text (the lexical baseline)."""
        if self._bm25 is None:
            from kglink.retrieval.bm25 import BM25Index

            graph = self.bundle.graph.graph
            contents = [graph.nodes[PASSAGE_PREFIX + pid] for pid in self._passage_ids]
            self._bm25 = BM25Index([(n["id"], _content(n)) for n in contents])
        return self._hits(self._bm25.search(question, top_k), ())

    def _blend(self) -> bool:
        return self.scoring == "v2" and self.passage_node_weight > 0

    def _entity_passage_matrix(self):
        """``[passages, nodes]`` 0/1 matrix: which entities each passage mentions (v1 scoring)."""
        import scipy.sparse as sp

        graph, rows, cols = self.bundle.graph.graph, [], []
        for r, i in enumerate(self._passage_rows):
            for node in graph.neighbors(self.matrix.nodes[i]):
                if graph.nodes[node]["kind"] == "entity":
                    rows.append(r)
                    cols.append(self.matrix.index[node])
        shape = (len(self._passage_rows), len(self.matrix.nodes))
        return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)

    def _hits(self, ranked: list[tuple[str, float]], seeds: tuple[Seed, ...]) -> list[PassageHit]:
        graph = self.bundle.graph.graph
        out = []
        for pid, score in ranked:
            node = graph.nodes[PASSAGE_PREFIX + pid]
            out.append(PassageHit(pid, node["title"], node["text"], score, seeds))
        return out


def _content(node: dict) -> str:
    return f"{node['title']}\n{node['text']}" if node["title"] else node["text"]


def _minmax(x: np.ndarray) -> np.ndarray:
    span = x.max() - x.min() if len(x) else 0.0
    return (x - x.min()) / span if span > 0 else np.zeros_like(x)
