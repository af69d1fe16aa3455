"""Graph-based passage retrieval: link the question's entities, then Personalized PageRank.

Seeds are the linked entity nodes, each weighted by its link score divided by the
number of passages that mention it (HippoRAG's node specificity). Passages are
scored by their PPR mass (``"v2"``, HippoRAG 2: passage nodes in the graph) or by
the summed mass of their entities (``"v1"``, HippoRAG: PPR over entities only). A
question that links to nothing falls back to dense passage retrieval, and the dense
index's best passage leads every graph ranking (``dense_first``), so the graph adds to
dense retrieval rather than replacing it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace

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
    dense_first
        How many of the dense index's best passages lead the ranking, ahead of the
        walk's (each once). The first hit is then the dense retriever's first, and the
        top ``k`` hold it and the walk's best ``k - 1``: a question that names its
        passage keeps it, and the graph fills the rest. ``0`` ranks by the walk alone.
    passage_node_weight
        HippoRAG 2's blend: passage nodes also restart with this weight times their
        min-max-normalised dense score (``v2`` only; HippoRAG 2 uses 0.05). Dense
        scores come for the ``dense_candidates`` best passages (the rest get 0). Off
        by default: with longest-span seeds it cost 0.11 R@5 on 2Wiki and added
        under 0.02 on MuSiQue (``benchmarks/bench_retrieval.py``).
    use_synonyms
        Walk synonym edges (False reproduces the "no synonym edges" ablation).
    seeds
        Where seeds come from: ``"ngrams"`` (question spans linked to entity names, the
        default), ``"facts"`` (HippoRAG 2: the subjects and objects of the ``fact_top_k``
        facts that best match the question; needs a graph built with ``--facts``) or
        ``"both"``.
    recognition
        HippoRAG 2's recognition memory for fact seeds: ``(question, [(fact, score)]) ->``
        the facts to keep, e.g. a :class:`kglink.retrieval.recognition.RecognitionFilter`
        (an LLM). ``None`` keeps the ``fact_top_k`` facts as they are.
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
        dense_first: int = 1,
        use_synonyms: bool = True,
        seeds: str = "ngrams",
        fact_top_k: int = 5,
        recognition: Callable[[str, list], list] | None = None,
        extractor: Callable[[str], Sequence[Mention | str]] | None = None,
    ) -> None:
        if scoring not in SCORINGS:
            raise InputError(f"scoring must be one of {SCORINGS}, got {scoring!r}")
        if seeds not in SEED_SOURCES:
            raise InputError(f"seeds must be one of {SEED_SOURCES}, got {seeds!r}")
        if seeds != "ngrams" and bundle.facts is None:
            raise InputError("this graph has no fact index; rebuild it with `kglink build --facts`")
        if recognition is not None and seeds == "ngrams":
            raise InputError("recognition filters fact seeds; use seeds='facts' or seeds='both'")
        self.seed_source, self.fact_top_k = seeds, check_count(fact_top_k, "fact_top_k")
        self.recognition = recognition
        if link_threshold is not None:
            check_threshold(link_threshold, "link_threshold")
        if not (isinstance(damping, (int, float)) and 0.0 < damping < 1.0):
            raise InputError(f"damping must be a number in (0, 1), got {damping!r}")
        check_count(dense_candidates, "dense_candidates")
        self.dense_first = check_count(dense_first, "dense_first", minimum=0)
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
        self._passage_at = {pid: j for j, pid in enumerate(self._passage_ids)}
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
        if self.recognition is not None:
            facts = self.recognition(question, facts)
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
        """Link the question's mentions; keep the longest non-overlapping ones above the threshold.

        Longest first: a span that links covers more of the question than any part of
        it, and a part scores high against every longer name that contains it
        ("Christopher" reaches "christopher swearingin" as well as "Christopher Nolan"
        reaches "christopher nolan"). Equal lengths go by score.
        """
        mentions = [m if isinstance(m, Mention) else Mention(m) for m in self.mention_finder(question)]
        if not mentions:
            return []
        links = self.bundle.entities.link([m.text for m in mentions], top_k=1, threshold=self.link_threshold)
        ranked = sorted(
            ((r.matches[0], m) for r, m in zip(links, mentions) if r.linked),
            key=lambda x: (-len(x[1].text), -x[0].score),
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
        need_dense = not seeds or self._blend() or self.dense_first
        dense = self.passages.scores(question, self.dense_candidates) if need_dense else {}
        dense_ranked = sorted(dense.items(), key=lambda x: -x[1])
        if not seeds:
            logger.info("no entity of %r linked; dense retrieval", question)
            return self._hits(dense_ranked[:top_k], (), "dense")
        restart = np.zeros(len(self.matrix.nodes))
        for seed in seeds:
            restart[self.matrix.index[seed.node]] += seed.weight
        if self._blend():
            restart[self._passage_rows] += self.passage_node_weight * _minmax(
                np.array([dense.get(pid, 0.0) for pid in self._passage_ids])
            )
        mass = personalized_pagerank(self.matrix, restart, damping=self.damping)
        scores = mass[self._passage_rows] if self.scoring == "v2" else self._entity_passages @ mass
        first = [pid for pid, _ in dense_ranked[: self.dense_first]]
        walk = [self._passage_ids[i] for i in np.argsort(-scores, kind="stable")[: top_k + len(first)]]
        ranked = list(dict.fromkeys(first + walk))[:top_k]
        ranked_scores = [(pid, float(scores[self._passage_at[pid]])) for pid in ranked]
        hits = self._hits(ranked_scores, tuple(seeds), "graph")
        return [replace(hit, via="dense") if hit.passage_id in first else hit for hit in hits]

    def retrieve_dense(self, question: str, top_k: int = 5) -> list[PassageHit]:
        """The ``top_k`` passages by dense MaxSim alone (the baseline), with no seeds."""
        check_text(question, "the question")
        return self._hits(self.passages.search([question], top_k)[0], (), "dense")

    def retrieve_bm25(self, question: str, top_k: int = 5) -> list[PassageHit]:
        """The ``top_k`` passages by BM25 over their title and text (the lexical baseline)."""
        if self._bm25 is None:
            from kglink.retrieval.bm25 import BM25Index

            graph = self.bundle.graph.graph
            contents = [graph.nodes[PASSAGE_PREFIX + pid] for pid in self._passage_ids]
            self._bm25 = BM25Index([(n["id"], _content(n)) for n in contents])
        return self._hits(self._bm25.search(question, top_k), (), "bm25")

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

    def _hits(self, ranked: list[tuple[str, float]], seeds: tuple[Seed, ...], via: str) -> list[PassageHit]:
        graph = self.bundle.graph.graph
        out = []
        for pid, score in ranked:
            node = graph.nodes[PASSAGE_PREFIX + pid]
            out.append(PassageHit(pid, node["title"], node["text"], score, seeds, via))
        return out


def _content(node: dict) -> str:
    return f"{node['title']}\n{node['text']}" if node["title"] else node["text"]


def _minmax(x: np.ndarray) -> np.ndarray:
    span = x.max() - x.min() if len(x) else 0.0
    return (x - x.min()) / span if span > 0 else np.zeros_like(x)
