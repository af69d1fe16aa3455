"""The entity index: node names encoded once, mentions linked, synonym pairs found.

Scores are normalised to [0, 1] so that one threshold means the same for every
name (see :func:`kglink.scores.normalize_scores`). Nodes are keyed by their
HippoRAG-normalised name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from kglink.artifacts import atomic_save_npy, load_npy, read_config, read_folder, write_config, write_folder
from kglink.checks import check_count, check_names, check_threshold
from kglink.encoder.model import LateInteractionModel
from kglink.errors import IndexMismatchError, InputError
from kglink.index.tokens import LateInteractionIndex, check_encoded_by
from kglink.results import LinkResult, Match, SynonymPair
from kglink.scores import maxsim_candidates, maxsim_gathered, normalize_scores, pack
from kglink.text import alnum_count, normalize_name

logger = logging.getLogger(__name__)

LINK_NORMALIZATIONS = ("self", "mean", "symmetric")
ENTITY_CONFIG = {"model": str, "dim": int, "normalization": str, "threshold": (int, float)}
DEFAULT_THRESHOLD = 0.8  # HippoRAG's synonym threshold, for models without a calibrated one
# Narrower faiss search for links than for synonym pairs: on 1,827 MuSiQue question
# n-grams it linked exactly as exhaustive search did (same top-1 for 99.8%).
LINK_CANDIDATE_TOKENS, LINK_NPROBE = 32, 8
CANDIDATES = 32  # pooled-vector candidates per name for synonym pairs, before any deepening
DEEPEST_FACTOR = 5  # no name searches deeper than this many times max_neighbors
# Exact all-pairs against the candidate path on MuSiQue names, 2 shared cores (AMD EPYC,
# load 5-7), same pairs at every size: 2k 1.75 s / 0.40 s, 4k 4.3 / 1.0, 8k 31.6 / 1.9,
# 16k 210 / 21 (the last with the bench running beside it).
EXHAUSTIVE_BELOW_CPU = 1_000
Encode = Callable[[list[str]], tuple[list[np.ndarray], list[np.ndarray]]]  # names -> (queries, docs)
MapBlocks = Callable[[Callable[[list[str]], list], list[str]], list]  # (search, query ids) -> triples


class EntityIndex:
    """Knowledge-graph node names, searchable by normalised MaxSim.

    Parameters
    ----------
    model
        The encoder; the same one must be used to load the index again.
    normalization
        ``"self"`` (HippoRAG v1, default), ``"mean"`` or ``"symmetric"``.
    threshold
        Default score a link or synonym must reach, in [0, 1]; ``None`` takes the
        threshold calibrated for the model (``kglink train`` stores it), else
        :data:`DEFAULT_THRESHOLD`.
    exhaustive_below
        :meth:`synonym_pairs` scores all pairs exactly up to this many nodes (quadratic:
        about 100 s for 19k names on 2 CPU cores, seconds on a GPU); above it, each node's
        nearest names by pooled vector, rescored exactly (see :data:`CANDIDATES`).
        ``None``: 200,000 when the model runs on a GPU, else :data:`EXHAUSTIVE_BELOW_CPU`.

    Examples
    --------
    >>> model = LateInteractionModel.from_pretrained(show_progress=False)
    >>> entities = EntityIndex(model)
    >>> entities.add(["Stanford University", "Leland Stanford Junior University", "Honolulu"])
    ['stanford university', 'leland stanford junior university', 'honolulu']
    >>> best = entities.link(["stanford univ."], top_k=1)[0].best
    >>> best.node_id
    'stanford university'
    """

    def __init__(
        self,
        model: LateInteractionModel,
        *,
        normalization: str = "self",
        threshold: float | None = None,
        exhaustive_below: int | None = None,
    ) -> None:
        if normalization not in LINK_NORMALIZATIONS:
            raise InputError(
                f"normalization must be one of {LINK_NORMALIZATIONS}, got {normalization!r} "
                "(raw sums are not comparable across names, so links need a normalised score)"
            )
        self.model = model
        self.normalization = normalization
        if threshold is None:
            threshold = model.synonym_threshold if model.synonym_threshold is not None else DEFAULT_THRESHOLD
        self.threshold = check_threshold(threshold)
        if exhaustive_below is None:
            exhaustive_below = 200_000 if model.device.type == "cuda" else EXHAUSTIVE_BELOW_CPU
        self.exhaustive_below = exhaustive_below
        self.docs = LateInteractionIndex(device=model.device)
        self.queries = LateInteractionIndex(exhaustive_below=0)
        self._self: dict[str, float] = {}
        self.pairs_scored = 0  # exact (query, node) scores computed by the last synonym_pairs call

    def __len__(self) -> int:
        return len(self.docs)

    def __contains__(self, node_id: str) -> bool:
        return node_id in self._self

    def add(
        self, names: Sequence[str], progress: bool | None = None, encode: Encode | None = None
    ) -> list[str]:
        """Add names not yet present (keyed by normalised form); returns the new node ids.

        ``progress`` shows or hides the encoding bar (``None``: as the model was loaded).
        ``encode`` stands in for ``model.encode_both`` (an engine's, :mod:`kglink.engine`).
        """
        keys = self._keys(check_names(names, "name"), "name")
        new = list(dict.fromkeys(k for k in keys if k not in self._self))
        if not new:
            return []
        self._check_lengths(new, (False, True))  # one tokenisation for both (it was one each)
        queries, docs = self.model.encode_both(new, progress=progress) if encode is None else encode(new)
        n_tokens = sum(len(d) for d in docs)
        self.docs.add(docs, new, new)
        del docs  # each encoding list freed once stored, before the next copy is made
        self.queries.add(queries, new, new)
        del queries
        self.docs.build_candidates()  # now, once: it is saved with the index
        self._self.update(zip(new, self._stored_self_scores(new)))  # from the float16 vectors kept
        logger.info("added %d entity names (%d tokens)", len(new), n_tokens)
        return new

    def _stored_self_scores(self, ids: list[str]) -> np.ndarray:
        """Raw MaxSim of the names just added (the stores' last rows), query against document.

        Scored straight from the two packed stores: packing per-name copies first held
        another copy of every token (0.7 GB at 32k names)."""
        start = len(self.queries) - len(ids)
        q_tokens, q_offsets = self.queries.packed()
        d_tokens, d_offsets = self.docs.packed()
        cand = np.array([[self.docs.position(i)] for i in ids], dtype=np.int64).reshape(-1, 1)
        return maxsim_gathered(q_tokens, q_offsets[start:], d_tokens, d_offsets, cand)[:, 0]

    def copy(self) -> EntityIndex:
        """An independent copy sharing the model (what a server's writer changes, readers never see)."""
        import copy

        new = copy.copy(self)
        new.docs, new.queries, new._self = self.docs.copy(), self.queries.copy(), dict(self._self)
        return new

    def remove(self, node_ids: Sequence[str]) -> None:
        """Remove nodes by id; an unknown id raises :class:`InputError` and removes nothing."""
        node_ids = list(dict.fromkeys(check_names(node_ids, "node id")))
        self.docs.remove(node_ids)
        self.queries.remove(node_ids)
        for node_id in node_ids:
            del self._self[node_id]
        if len(self.docs):
            self.docs.build_candidates()  # now, in the writer, not in the first reader

    def link(
        self, mentions: Sequence[str], top_k: int = 5, threshold: float | None = None
    ) -> list[LinkResult]:
        """Rank nodes for each mention; matches below ``threshold`` are left out.

        Returns one :class:`LinkResult` per mention, in order; ``result.linked`` is
        False when no node reached the threshold (``result.best`` still shows the closest).
        A ``top_k`` above the number of nodes returns them all.
        """
        threshold = self.threshold if threshold is None else check_threshold(threshold)
        mentions = check_names(mentions, "mention")
        top_k = min(check_count(top_k, "top_k"), max(1, len(self)))
        if not mentions:
            return []
        keys = self._keys(mentions, "mention")
        self._check_lengths(keys, (True,))
        if self.normalization == "mean":
            queries, m_docs = self.model.encode_query(keys), None
        else:
            queries, m_docs = self.model.encode_both(keys)
        wide = 4 * top_k if self.normalization == "symmetric" else top_k
        raw, pos = self.docs.search_arrays(
            queries, wide, candidate_tokens=LINK_CANDIDATE_TOKENS, nprobe=LINK_NPROBE
        )
        m_self = _pairwise_maxsim(queries, m_docs) if m_docs is not None else None
        scores = self._normalize(raw, pos, self.docs, queries, m_self, m_docs)
        return [self._link_result(m, s, p, top_k, threshold) for m, s, p in zip(mentions, scores, pos)]

    def synonym_pairs(
        self,
        threshold: float | None = None,
        max_neighbors: int = 100,
        min_alnum_chars: int = 3,
        nodes: Sequence[str] | None = None,
        both_ways: bool = True,
        map_blocks: MapBlocks | None = None,
    ) -> list[SynonymPair]:
        """HippoRAG's synonymy recipe over the nodes, or only the pairs touching ``nodes``.

        Each node (with at least ``min_alnum_chars`` letters or digits) takes its
        neighbours in score order, stopping at the first below ``threshold`` or after
        ``max_neighbors``. With ``nodes`` (e.g. the ids :meth:`add` just returned) only
        new-vs-all pairs are scored: new nodes query every node, old nodes query only
        the new ones.

        With ``both_ways`` (the default) a pair's score is the lower of its two
        directions, so each name must account for the other: synonymy is symmetric,
        and a one-way match is containment ("lake" is all inside "lake hefner", which
        scores 0.88 one way and 0.6 the other). Without it a pair keeps its higher
        direction, as HippoRAG does. (On 1,000 2Wiki questions this turned the synonym
        edges' worth from -0.015 R@5 to +0.002: ``benchmarks/bench_retrieval.py``.)

        ``map_blocks(search, query_ids)`` runs the neighbour search (a picklable function of
        a list of query ids, carrying this index) over blocks of ids and returns the found
        ``(a, b, score)`` triples, e.g. in Ray actors (:mod:`kglink.engine`); the default
        is one call in this process.
        """
        threshold = self.threshold if threshold is None else check_threshold(threshold)
        max_neighbors = check_count(max_neighbors, "max_neighbors")
        min_alnum_chars = check_count(min_alnum_chars, "min_alnum_chars", minimum=0)
        nodes = None if nodes is None else check_names(nodes, "node id")
        eligible = {i for i in self._self if alnum_count(i) >= min_alnum_chars}
        self.pairs_scored = 0
        run = map_blocks or (lambda search, ids: search(ids))
        search = partial(
            self._neighbor_pairs, threshold=threshold, max_neighbors=max_neighbors, eligible=eligible
        )
        if nodes is None:
            found = run(partial(search, target=self.docs), sorted(eligible))
        else:
            new = [n for n in dict.fromkeys(nodes) if n in eligible]
            old = sorted(eligible.difference(new))
            found = run(partial(search, target=self.docs), new)
            if new and old:
                sub = LateInteractionIndex()
                sub.add([self.docs.embedding(n) for n in new], new, new)
                found += run(partial(search, target=sub), old)
        best: dict[tuple[str, str], float] = {}
        for a, b, score in found:
            key = (a, b) if a < b else (b, a)
            best[key] = max(score, best.get(key, -1.0))
        if both_ways and self.normalization != "symmetric":  # symmetric scores are already both ways
            pairs = sorted(best)
            lower = np.minimum(self._pair_scores(pairs), self._pair_scores([(b, a) for a, b in pairs]))
            best = {pair: float(s) for pair, s in zip(pairs, lower) if s >= threshold}
        return [SynonymPair(a, b, s) for (a, b), s in sorted(best.items())]

    def _pair_scores(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """Normalised score of name ``a`` (as the query) against node ``b``, per pair ``(a, b)``."""
        queries = [self.queries.embedding(a) for a, _ in pairs]
        raw = _pairwise_maxsim(queries, [self.docs.embedding(b) for _, b in pairs])
        if self.normalization == "mean":
            return normalize_scores(raw, "mean", query_lengths=np.array([len(q) for q in queries]))
        return normalize_scores(raw, "self", self_scores=np.array([self._self[a] for a, _ in pairs]))

    def _neighbor_pairs(
        self,
        query_ids: list[str],
        target: LateInteractionIndex,
        threshold: float,
        max_neighbors: int,
        eligible: set[str],
    ) -> list[tuple[str, str, float]]:
        if not query_ids:
            return []
        queries = [self.queries.embedding(i) for i in query_ids]
        before = target.scored_pairs
        exhaustive = len(target) <= self.exhaustive_below
        skipped = len(target) - sum(t in eligible for t in target.ids)  # may take top slots
        if target is self.docs and not exhaustive:
            raw, pos = self._candidate_scores(query_ids, queries, threshold, max_neighbors, eligible)
        elif target is self.docs:
            raw, pos = target.search_arrays(queries, max_neighbors + 1 + skipped, exhaustive=True)
        else:  # every old name against the few new ones (see synonym_pairs)
            rows = np.array([self.queries.position(i) for i in query_ids], dtype=np.int64)
            raw, pos = target.search_index(self.queries, rows, max_neighbors + 1 + skipped)
        self.pairs_scored += target.scored_pairs - before
        q_docs = [self.docs.embedding(i) for i in query_ids] if self.normalization == "symmetric" else None
        q_self = np.array([self._self[i] for i in query_ids])
        scores = self._normalize(raw, pos, target, queries, q_self, q_docs)
        out = []
        for qid, row_s, row_p in zip(query_ids, scores, pos):
            order = np.argsort(-row_s, kind="stable")
            taken = 0
            for j in order:
                if row_p[j] < 0 or taken == max_neighbors or row_s[j] < threshold:
                    break
                other = target.id_at(row_p[j])
                if other == qid or other not in eligible:
                    continue
                out.append((qid, other, float(row_s[j])))
                taken += 1
        return out

    def _candidate_scores(
        self,
        query_ids: list[str],
        queries: list[np.ndarray],
        threshold: float,
        max_neighbors: int,
        eligible: set[str],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Raw MaxSim of each query against its pooled-vector candidates, best first, ``-1`` padded.

        Each name takes its :data:`CANDIDATES` nearest names by pooled-vector cosine
        (itself and ineligible names left out) and scores them exactly. A name whose
        deepest candidate reaching ``threshold`` lies in the lower half of its list may
        have more further down, so it is searched again 4x as deep, until the lower half
        holds none (or every name is a candidate). The rule depends only on where the
        name's own neighbours fall, not on the corpus. No name searches deeper than
        ``DEEPEST_FACTOR x max_neighbors`` (names such as years have thousands of near
        neighbours, of which only the best ``max_neighbors`` count), and each keeps its
        best ``max_neighbors`` by raw score, as the exact path ranks them.
        """
        docs = self.docs
        rows = np.array([docs.position(i) for i in query_ids], dtype=np.int64)
        usable = np.array([t in eligible for t in docs.ids] + [False])  # [-1] -> False
        q_self = np.array([self._self[i] for i in query_ids])
        q_docs = [docs.embedding(i) for i in query_ids] if self.normalization == "symmetric" else None
        results: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(0), np.zeros(0, np.int64))] * len(rows)
        pending, depth = np.arange(len(rows)), CANDIDATES
        deepest_depth = max(CANDIDATES, DEEPEST_FACTOR * max_neighbors)
        while len(pending):
            cand = docs.pooled_neighbors(rows[pending], depth + 1)
            cand[(cand == rows[pending, None]) | ~usable[cand]] = -1
            sub = [queries[a] for a in pending]
            raw = docs.score_candidates(*pack(sub), cand)
            picked = [q_docs[a] for a in pending] if q_docs is not None else None
            scores = self._normalize(raw, cand, docs, sub, q_self[pending], picked)
            hit = (scores >= threshold) & (cand >= 0)
            deepest = np.where(hit.any(axis=1), hit.shape[1] - 1 - np.argmax(hit[:, ::-1], axis=1), -1)
            done = (deepest < cand.shape[1] // 2) | (cand.shape[1] >= len(docs)) | (depth >= deepest_depth)
            for a, r, c in zip(pending[done], raw[done], cand[done]):
                order = np.argsort(-r, kind="stable")[:max_neighbors]  # as many as the exact path ranks
                results[a] = (r[order], c[order])
            pending, depth = pending[~done], min(depth * 4, deepest_depth)
        width = max(len(c) for _, c in results)
        raw_out = np.full((len(rows), width), -np.inf, dtype=np.float32)
        pos_out = np.full((len(rows), width), -1, dtype=np.int64)
        for a, (r, c) in enumerate(results):
            raw_out[a, : len(r)], pos_out[a, : len(c)] = r, c
        pos_out[~np.isfinite(raw_out)] = -1
        return raw_out, pos_out

    def _normalize(
        self,
        raw: np.ndarray,
        pos: np.ndarray,
        target: LateInteractionIndex,
        queries: list[np.ndarray],
        q_self: np.ndarray | None,
        q_docs: list[np.ndarray] | None,
    ) -> np.ndarray:
        """Normalised scores for ``raw[i, j]`` = query ``i`` against ``target`` text ``pos[i, j]``."""
        if self.normalization == "mean":
            return normalize_scores(raw, "mean", query_lengths=np.array([len(q) for q in queries]))
        forward = normalize_scores(raw, "self", self_scores=q_self)
        if self.normalization == "self":
            return forward
        backward = np.zeros_like(forward)
        rows, cols = np.nonzero(pos >= 0)
        if len(rows):  # each found text as the query, against the query's own document encoding
            ids = [target.id_at(p) for p in pos[rows, cols]]
            rev = _pairwise_maxsim([self.queries.embedding(t) for t in ids], [q_docs[i] for i in rows])
            backward[rows, cols] = rev / np.maximum([self._self[t] for t in ids], 1e-6)
        return np.where(pos >= 0, (forward + np.clip(backward, 0.0, 1.0)) / 2, -np.inf)

    def _link_result(
        self, mention: str, scores: np.ndarray, pos: np.ndarray, top_k: int, threshold: float
    ) -> LinkResult:
        order = [j for j in np.argsort(-scores, kind="stable") if pos[j] >= 0][:top_k]
        ranked = [Match(self.docs.id_at(pos[j]), self.docs.id_at(pos[j]), float(scores[j])) for j in order]
        passed = tuple(m for m in ranked if m.score >= threshold)
        return LinkResult(mention, passed, ranked[0] if ranked else None)

    def _keys(self, names: list[str], what: str) -> list[str]:
        keys = [normalize_name(n) for n in names]
        for i, key in enumerate(keys):
            if not key:
                raise InputError(f"{what} #{i} {names[i]!r} has no letters or digits; drop it")
        return keys

    def _check_lengths(self, keys: list[str], sides: tuple[bool, ...]) -> None:
        """Raise if a key is over the model's length on any side (True: query), tokenising once."""
        bare = np.array(self.model.token_lengths(keys, sides[0])) - self.model.marker_tokens(sides[0])
        for is_query in sides:  # the sides differ only by their marker
            lengths = bare + self.model.marker_tokens(is_query)
            limit = self.model.max_length(is_query)
            over = np.nonzero(lengths > limit)[0]
            if len(over):
                i, kind = int(over[0]), "query" if is_query else "document"
                raise InputError(
                    f"{keys[i][:60]!r} is {lengths[i]} tokens long, over the model's {kind} length "
                    f"of {limit}; shorten the name (entity names are short) or load the model with a larger "
                    "length"
                )

    def save(self, folder: str | Path) -> None:
        """Write the index to ``folder``, all at once (see :mod:`kglink.artifacts`)."""
        with write_folder(folder, "entity_index") as tmp:
            self.write(tmp)

    def write(self, folder: Path) -> None:
        """Write the index's files into ``folder`` as they are (:meth:`save` makes it atomic)."""
        self.docs.write(folder / "docs")
        self.queries.write(folder / "queries")
        atomic_save_npy(
            folder / "self_scores.npy", np.array([self._self[i] for i in self.docs.ids], np.float32)
        )
        write_config(
            folder / "config.json",
            "entity_index",
            model=self.model.name,
            model_format=self.model.config.format,
            dim=self.model.dim,
            normalization=self.normalization,
            threshold=self.threshold,
            n_nodes=len(self),
        )

    @classmethod
    def load(
        cls, folder: str | Path, model: LateInteractionModel | None = None, show_progress: bool = True
    ) -> EntityIndex:
        """Load a saved index; ``model=None`` loads the model it was built with (bars: ``show_progress``)."""
        return read_folder(folder, lambda path: cls.read(path, model, show_progress))

    @classmethod
    def read(
        cls, folder: Path, model: LateInteractionModel | None = None, show_progress: bool = True
    ) -> EntityIndex:
        """Read the index's files from ``folder`` as they are (:meth:`load` checks the folder first)."""
        config = read_config(folder / "config.json", "entity_index", ENTITY_CONFIG)
        model = model or LateInteractionModel.from_pretrained(config["model"], show_progress=show_progress)
        check_encoded_by(config, model.name, model.dim, folder)
        entities = cls(model, normalization=config["normalization"], threshold=config["threshold"])
        entities.docs, _ = LateInteractionIndex.read(folder / "docs")
        entities.queries, _ = LateInteractionIndex.read(folder / "queries")
        scores = load_npy(folder / "self_scores.npy", "self scores")
        fits = scores.ndim == 1 and scores.dtype == np.float32 and entities.docs.ids == entities.queries.ids
        if not fits or len(scores) != len(entities.docs):
            raise IndexMismatchError(f"{folder}: documents, queries and self scores disagree; rebuild")
        entities._self = dict(zip(entities.docs.ids, scores.tolist()))
        return entities


def _pairwise_maxsim(queries: Sequence[np.ndarray], docs: Sequence[np.ndarray]) -> np.ndarray:
    """Raw MaxSim of ``queries[i]`` against ``docs[i]`` for each ``i``."""
    if not len(queries):
        return np.zeros(0, dtype=np.float32)
    q_tokens, q_offsets = pack(queries)
    d_tokens, d_offsets = pack(docs)
    cands = [np.array([i]) for i in range(len(queries))]
    return maxsim_candidates(q_tokens, q_offsets, d_tokens, d_offsets, cands, 1)[0][:, 0]
