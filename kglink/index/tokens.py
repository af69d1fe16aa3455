"""A late-interaction index: token vectors per text, faiss candidates, exact MaxSim rerank.

This is the one module that imports ``faiss``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from kglink.artifacts import (
    atomic_save_npy,
    atomic_write_json,
    load_npy,
    read_artifact_json,
    read_config,
    read_folder,
    write_config,
    write_folder,
)
from kglink.checks import check_count, check_strings
from kglink.errors import ArtifactError, IndexMismatchError, InputError
from kglink.scores import maxsim_candidates, maxsim_gathered, maxsim_topk, pack

logger = logging.getLogger(__name__)

SMALL_SEARCH = 256  # query tokens below which faiss searches on one thread
_SETTINGS = ("candidate_tokens", "approximate_above", "nprobe", "exhaustive_below")
IVF_FILES = ("ivf_centroids.npy", "ivf_lists.npy")  # a trained IVF, saved so no process trains it again
# Pooled-vector neighbours: exact (faiss flat, BLAS) up to this many texts, IVF above,
# probing a quarter of its lists (fewer lost neighbours: on 5k MuSiQue names 8 / 24 / 64
# of 282 lists kept 0.954 / 0.977 / 0.990 of them). IVF scanning is not BLAS: at 110k
# names on 2 cores it took 159 s where flat search costs n^2 x dim (about 60 s at 176
# GFLOP/s), so on a CPU flat search stays the default to well past 100k names.
POOLED_EXACT_BELOW = 250_000
POOLED_PROBE_SHARE = 4  # probe 1 / this of the lists


@dataclass(frozen=True)
class SearchResult:
    """One hit of :meth:`LateInteractionIndex.search`: the stored text and its MaxSim score."""

    id: str
    text: str
    score: float


class LateInteractionIndex:
    """Token matrices of many texts, searchable by MaxSim.

    Candidates come from faiss over the token vectors: an exact inner-product index
    up to ``approximate_above`` tokens, an IVF index (``nprobe`` lists) above. Each
    query token fetches its ``candidate_tokens`` nearest tokens; the texts they belong
    to are rescored by exact MaxSim. Indexes of at most ``exhaustive_below`` texts
    skip faiss and score every text (on ``device``: ``None`` picks cuda when there is one).

    Examples
    --------
    >>> index = LateInteractionIndex()
    >>> index.add([np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32)[:1]], ["ab", "a"])
    >>> [(r.text, r.score) for r in index.search(np.eye(2, dtype=np.float32)[1:], top_k=2)]
    [('ab', 1.0), ('a', 0.0)]
    """

    def __init__(
        self,
        *,
        candidate_tokens: int = 64,
        approximate_above: int = 50_000,
        nprobe: int = 32,
        exhaustive_below: int = 2_000,
        device: str | None = None,
    ) -> None:
        self.device = device
        self.candidate_tokens = candidate_tokens
        self.approximate_above = approximate_above
        self.nprobe = nprobe
        self.exhaustive_below = exhaustive_below
        self._tokens = np.zeros((0, 0), dtype=np.float32)  # float16-rounded, saved as float16
        self._offsets = np.zeros(1, dtype=np.int64)
        self._ids: list[str] = []
        self._texts: list[str] = []
        self._pos: dict[str, int] = {}
        self._faiss = None
        self._ivf: tuple[np.ndarray, np.ndarray] | None = None  # IVF centroids, each token's list
        self._pooled = None  # (pooled vectors, their faiss index), built on first use
        self.scored_pairs = 0  # exact (query, text) MaxSim scores computed so far

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, doc_id: str) -> bool:
        return doc_id in self._pos

    @property
    def dim(self) -> int | None:
        """Token vector size, ``None`` while empty."""
        return self._tokens.shape[1] if len(self._ids) else None

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    def id_at(self, position: int) -> str:
        """The id of the text at ``position`` (as returned by :meth:`search_arrays`)."""
        return self._ids[position]

    def text(self, doc_id: str) -> str:
        return self._texts[self.position(doc_id)]

    def embedding(self, doc_id: str) -> np.ndarray:
        """The stored token matrix of one text (float32 holding float16-rounded values)."""
        i = self.position(doc_id)
        return self._tokens[self._offsets[i] : self._offsets[i + 1]]

    def add(
        self, embeddings: Sequence[np.ndarray], texts: Sequence[str], ids: Sequence[str] | None = None
    ) -> None:
        """Add texts with their token matrices; ``ids`` default to running numbers."""
        texts = check_strings(texts, "text")
        ids = (
            check_strings(ids, "id")
            if ids is not None
            else [str(len(self._ids) + i) for i in range(len(texts))]
        )
        embeddings = _check_matrices(embeddings, "embedding")
        if not (len(embeddings) == len(texts) == len(ids)):
            raise InputError(f"got {len(embeddings)} embeddings, {len(texts)} texts, {len(ids)} ids")
        if not texts:
            return
        dupes = [i for i in ids if i in self._pos] or _duplicates(ids)
        if dupes:
            raise InputError(f"ids already in the index: {dupes[:5]}; remove them first")
        rounded, offsets = _rounded_pack(embeddings)
        if self.dim is not None and rounded.shape[1] != self.dim:
            raise IndexMismatchError(f"embeddings have dim {rounded.shape[1]}, index has {self.dim}")
        base, dim = len(self._tokens), rounded.shape[1]
        self._tokens = np.concatenate([self._tokens.reshape(-1, dim), rounded]) if base else rounded
        self._offsets = np.concatenate([self._offsets, offsets[1:] + base])
        self._pos.update((doc_id, len(self._ids) + i) for i, doc_id in enumerate(ids))
        self._ids += ids
        self._texts += list(texts)
        self._pooled = None
        self._extend_faiss(rounded, base)

    def remove(self, ids: Sequence[str]) -> None:
        """Remove texts by id; unknown ids raise :class:`InputError`."""
        drop = {self.position(i) for i in check_strings(ids, "id")}
        keep = [i for i in range(len(self._ids)) if i not in drop]
        lengths = np.diff(self._offsets)[keep]
        rows = (
            np.concatenate([np.arange(self._offsets[i], self._offsets[i + 1]) for i in keep]) if keep else []
        )
        self._tokens = self._tokens[rows]
        self._offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self._ids = [self._ids[i] for i in keep]
        self._texts = [self._texts[i] for i in keep]
        self._pos = {doc_id: i for i, doc_id in enumerate(self._ids)}
        self._faiss, self._pooled = None, None
        if self._ivf is not None:  # the trained lists stay; the removed tokens leave them
            self._ivf = (self._ivf[0], self._ivf[1][np.asarray(rows, dtype=np.int64)])

    def copy(self) -> LateInteractionIndex:
        """An independent copy: adding to or removing from either leaves the other as it was.

        Token arrays are shared (adds and removes replace them, never write into them); the
        faiss index is cloned, not rebuilt.
        """
        import copy

        import faiss

        new = copy.copy(self)
        new._ids, new._texts, new._pos = list(self._ids), list(self._texts), dict(self._pos)
        new._faiss = faiss.clone_index(self._faiss) if self._faiss is not None else None
        return new

    def search(self, queries: np.ndarray | Sequence[np.ndarray], top_k: int = 10):
        """Top-``k`` texts by raw MaxSim: a list of results, or one list per query."""
        single = isinstance(queries, np.ndarray) and queries.ndim == 2
        scores, idx = self.search_arrays([queries] if single else queries, top_k)
        out = [
            [SearchResult(self._ids[j], self._texts[j], float(s)) for s, j in zip(row_s, row_i) if j >= 0]
            for row_s, row_i in zip(scores, idx)
        ]
        return out[0] if single else out

    def search_arrays(
        self,
        queries: Sequence[np.ndarray],
        top_k: int,
        exhaustive: bool | None = None,
        candidate_tokens: int | None = None,
        nprobe: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Like :meth:`search` but returns ``(scores, positions)`` arrays, -1 where fewer hits.

        ``exhaustive=True`` scores every text exactly (bounded-memory blocks on ``device``),
        ``False`` scores faiss candidates only; ``None`` decides by ``exhaustive_below``.
        ``candidate_tokens`` and ``nprobe`` override the index's settings for this call.
        """
        if not len(self._ids):
            raise InputError("the index is empty; add texts before searching")
        queries = _check_matrices(queries, "query")
        top_k = min(check_count(top_k, "top_k"), len(self._ids))
        if not queries:
            return np.zeros((0, top_k), np.float32), np.zeros((0, top_k), np.int64)
        if any(q.shape[1] != self.dim for q in queries):
            raise IndexMismatchError(f"query dim {queries[0].shape[1]} != index dim {self.dim}")
        q_tokens, q_offsets = pack(queries)
        if exhaustive or (exhaustive is None and len(self._ids) <= self.exhaustive_below):
            scores, idx = maxsim_topk(
                (q_tokens, q_offsets), (self._tokens, self._offsets), top_k, device=self.device
            )
            self.scored_pairs += len(queries) * len(self._ids)
            return _pad_columns(scores, idx, top_k)
        cands = self.candidates(q_tokens, q_offsets, candidate_tokens, nprobe)
        self.scored_pairs += sum(len(c) for c in cands)
        return maxsim_candidates(q_tokens, q_offsets, self._tokens, self._offsets, cands, top_k)

    def search_index(
        self, queries: LateInteractionIndex, positions: np.ndarray, top_k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact :meth:`search_arrays` for the texts of ``queries`` at ``positions``, as queries.

        Scored from that index's packed store, with no per-text copies: for a few new
        names, which every old one queries, this is 0.05 s against 0.15 s through
        :meth:`search_arrays` on the 19k MuSiQue names (packing and checking them).
        """
        top_k = min(check_count(top_k, "top_k"), len(self._ids))
        if queries.dim != self.dim:
            raise IndexMismatchError(f"query dim {queries.dim} != index dim {self.dim}")
        scores, idx = maxsim_topk(
            (queries._tokens, queries._offsets), (self._tokens, self._offsets), top_k, device=self.device
        )
        self.scored_pairs += len(positions) * len(self._ids)
        scores, idx = _pad_columns(scores, idx, top_k)
        return scores[positions], idx[positions]

    def candidates(
        self,
        q_tokens: np.ndarray,
        q_offsets: np.ndarray,
        candidate_tokens: int | None = None,
        nprobe: int | None = None,
    ) -> list[np.ndarray]:
        """Per query, the positions of texts whose tokens are near the query's, by faiss."""
        k = min(candidate_tokens or self.candidate_tokens, len(self._tokens))
        index = self._faiss_index()
        if hasattr(index, "nprobe"):
            index.nprobe = nprobe or self.nprobe
        with _faiss_threads(1 if len(q_tokens) < SMALL_SEARCH else None):
            _, hits = index.search(np.ascontiguousarray(q_tokens, dtype=np.float32), k)
        owner = np.searchsorted(self._offsets, hits, side="right") - 1
        owner[hits < 0] = -1
        return [np.unique(owner[a:b][owner[a:b] >= 0]) for a, b in zip(q_offsets[:-1], q_offsets[1:])]

    def packed(self) -> tuple[np.ndarray, np.ndarray]:
        """The store itself, ``(tokens, offsets)`` (read-only: adds and removes replace them)."""
        return self._tokens, self._offsets

    def score_candidates(
        self, q_tokens: np.ndarray, q_offsets: np.ndarray, candidates: np.ndarray
    ) -> np.ndarray:
        """Raw MaxSim of packed query ``a`` against text ``candidates[a, j]`` (``-1``: ``-inf``)."""
        self.scored_pairs += int((candidates >= 0).sum())
        return maxsim_gathered(q_tokens, q_offsets, self._tokens, self._offsets, candidates)

    def pooled_vectors(self) -> np.ndarray:
        """Each text's mean token vector, L2-normalised: ``[n_texts, dim]`` float32.

        >>> index = LateInteractionIndex()
        >>> index.add([np.array([[1.0, 0.0], [0.0, 1.0]])], ["ab"])
        >>> index.pooled_vectors().astype(float).round(3).tolist()
        [[0.707, 0.707]]
        """
        return self._pooled_index()[0]

    def pooled_neighbors(self, positions: np.ndarray, k: int) -> np.ndarray:
        """The ``k`` texts nearest each text at ``positions`` by pooled-vector cosine, nearest first.

        ``[len(positions), k]`` positions, ``-1`` where there are fewer. Exact (faiss flat)
        up to :data:`POOLED_EXACT_BELOW` texts, an IVF above (probing 1 /
        :data:`POOLED_PROBE_SHARE` of its lists).
        """
        vectors, index = self._pooled_index()
        k = min(k, len(self._ids))
        if not len(positions):
            return np.zeros((0, k), dtype=np.int64)
        with _faiss_threads(None):
            _, hits = index.search(np.ascontiguousarray(vectors[positions]), k)
        return hits.astype(np.int64)

    def _pooled_index(self):
        """The pooled vectors and a faiss index over them (cached until the texts change)."""
        import faiss

        if self._pooled is None:
            lengths = np.diff(self._offsets)
            sums = np.add.reduceat(self._tokens, self._offsets[:-1], axis=0) if len(lengths) else self._tokens
            vectors = np.ascontiguousarray(
                sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
            )
            vectors = vectors.astype(np.float32)
            if len(vectors) < POOLED_EXACT_BELOW:
                index = faiss.IndexFlatIP(vectors.shape[1])
            else:
                nlist = _nlist(len(vectors))
                index = faiss.IndexIVFFlat(
                    faiss.IndexFlatIP(vectors.shape[1]), vectors.shape[1], nlist, faiss.METRIC_INNER_PRODUCT
                )
                index.cp.niter = 10
                sample = np.random.default_rng(0).choice(
                    len(vectors), min(len(vectors), 64 * nlist), replace=False
                )
                index.train(vectors[np.sort(sample)])
                index.nprobe = max(1, nlist // POOLED_PROBE_SHARE)
            index.add(vectors)
            self._pooled = (vectors, index)
        return self._pooled

    def build_candidates(self) -> None:
        """Build the faiss candidate index now, if searches use one (over ``exhaustive_below`` texts).

        An IVF index trained here is saved with the index (:meth:`write`), so no process
        that loads it trains it again.
        """
        if len(self._ids) > self.exhaustive_below:
            self._faiss_index()

    def _faiss_index(self):
        """The faiss index over the tokens: flat up to ``approximate_above`` tokens, else IVF.

        The IVF's centroids and each token's list are kept (and saved by :meth:`write`),
        so a loaded index is rebuilt from them without training or assigning anything.
        """
        import faiss

        if self._faiss is None:
            if len(self._tokens) <= self.approximate_above:
                self._faiss = faiss.IndexFlatIP(self._tokens.shape[1])
                self._faiss.add(self._tokens)
            else:
                centroids, lists = self._ivf_lists()
                self._faiss = _ivf_index(centroids, lists, self._tokens)
        return self._faiss

    def _ivf_lists(self) -> tuple[np.ndarray, np.ndarray]:
        """The IVF centroids and every token's list, trained when missing or outgrown."""
        n, nlist = len(self._tokens), _nlist(len(self._tokens))
        if self._ivf is None or nlist > 2 * len(self._ivf[0]):  # new, or 4x the tokens it was trained on
            self._ivf = (_train_centroids(self._tokens, nlist), None)
            logger.info("trained IVF centroids: %d tokens, %d lists", n, nlist)
        centroids, lists = self._ivf
        if lists is None or len(lists) != n:
            self._ivf = (centroids, _nearest(centroids, self._tokens))
        return self._ivf

    def _extend_faiss(self, rounded: np.ndarray, base: int) -> None:
        """Add new tokens to the live faiss index and the IVF lists, or drop the index to be rebuilt."""
        lists_fit = self._ivf is not None and len(self._ivf[1]) == base
        if lists_fit:
            self._ivf = (self._ivf[0], np.concatenate([self._ivf[1], _nearest(self._ivf[0], rounded)]))
        live = self._faiss is not None and self._faiss.ntotal == base
        is_ivf = hasattr(self._faiss, "nprobe")
        if live and not is_ivf and len(self._tokens) <= self.approximate_above:
            self._faiss.add(rounded)
        elif live and is_ivf and lists_fit and _nlist(len(self._tokens)) <= 2 * len(self._ivf[0]):
            _add_to_lists(self._faiss, rounded, self._ivf[1][base:])
        else:
            self._faiss = None

    def position(self, doc_id: str) -> int:
        """The row of ``doc_id`` (raises :class:`InputError` if absent)."""
        try:
            return self._pos[doc_id]
        except KeyError:
            raise InputError(f"id {doc_id!r} is not in the index") from None

    def save(self, folder: str | Path) -> None:
        """Write the index to ``folder``, all at once (see :mod:`kglink.artifacts`)."""
        with write_folder(folder, "late_interaction_index") as tmp:
            self.write(tmp)

    def write(self, folder: Path) -> None:
        """Write ``tokens.npy`` (float16), ``offsets.npy``, ``docs.json``, ``config.json`` into ``folder``."""
        atomic_save_npy(folder / "tokens.npy", _as(self._tokens, torch.float16))
        atomic_save_npy(folder / "offsets.npy", self._offsets)
        atomic_write_json(folder / "docs.json", {"ids": self._ids, "texts": self._texts}, indent=None)
        settings = {k: getattr(self, k) for k in _SETTINGS}
        counts = {"dim": self.dim, "n_docs": len(self._ids), "n_tokens": len(self._tokens)}
        if self._ivf is not None and len(self._ivf[1]) == len(self._tokens):  # loads need not train it
            atomic_save_npy(folder / IVF_FILES[0], self._ivf[0])
            atomic_save_npy(folder / IVF_FILES[1], self._ivf[1])
        write_config(folder / "config.json", "late_interaction_index", **counts, **settings)  # last: complete

    @classmethod
    def load(cls, folder: str | Path) -> tuple[LateInteractionIndex, dict]:
        """Load an index folder; returns ``(index, config)``."""
        return read_folder(folder, cls.read)

    @classmethod
    def read(cls, folder: Path) -> tuple[LateInteractionIndex, dict]:
        """Read the index's files from ``folder`` as they are, checking that they fit together."""
        config = read_config(folder / "config.json", "late_interaction_index", dict.fromkeys(_SETTINGS, int))
        index = cls(**{k: config[k] for k in _SETTINGS})
        docs = read_artifact_json(folder / "docs.json", "index documents")
        tokens = load_npy(folder / "tokens.npy", "index tokens")
        offsets = load_npy(folder / "offsets.npy", "index offsets")
        ids, texts = (docs.get(k) if isinstance(docs, dict) else None for k in ("ids", "texts"))
        fits = isinstance(ids, list) and isinstance(texts, list) and len(ids) == len(texts)
        fits = fits and all(isinstance(x, str) for x in ids + texts) and len(set(ids)) == len(ids)
        fits = fits and tokens.ndim == 2 and tokens.dtype == np.float16 and offsets.ndim == 1
        fits = fits and offsets.dtype == np.int64 and len(offsets) == len(ids) + 1
        if not (fits and offsets[0] == 0 and offsets[-1] == len(tokens) and np.all(np.diff(offsets) >= 0)):
            raise ArtifactError(f"{folder}: tokens, offsets and docs.json disagree; rebuild the index")
        index._tokens, index._offsets = _as(tokens, torch.float32), offsets
        index._ids, index._texts = ids, texts
        index._pos = {doc_id: i for i, doc_id in enumerate(ids)}
        index._ivf = _read_ivf(folder, len(tokens), tokens.shape[1])
        return index, config


def _as(array: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    """``array`` cast between float32 and float16 by torch: bit-identical to numpy's
    ``astype`` (round to nearest even) and 2-4x faster on the MuSiQue names' 103k tokens
    (medians of 7, 2 threads, idle 2-core EPYC: to float32 0.042 s against 0.085 s, to
    float16 0.026 s against 0.109 s)."""
    return torch.from_numpy(np.ascontiguousarray(array)).to(dtype).numpy()


def _rounded_pack(embeddings: list[np.ndarray], chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pack`, rounded to float16 values, a chunk at a time: one copy of the tokens, not
    three (packed, float16, float32), which was most of the peak memory of a 100k-name build."""
    if len({e.shape[1] for e in embeddings}) != 1:
        raise InputError("every embedding must be a non-empty [n_tokens, dim] array of one dim")
    offsets = np.zeros(len(embeddings) + 1, dtype=np.int64)
    np.cumsum([e.shape[0] for e in embeddings], out=offsets[1:])
    out = np.empty((offsets[-1], embeddings[0].shape[1]), dtype=np.float32)
    for i in range(0, len(embeddings), chunk):
        part = np.concatenate(embeddings[i : i + chunk])
        stop = offsets[min(i + chunk, len(embeddings))]
        out[offsets[i] : stop] = _as(_as(part, torch.float16), torch.float32)
    return out, offsets


def _nlist(n_tokens: int) -> int:
    """IVF lists for ``n_tokens`` vectors: 4 sqrt(n), as faiss's guidelines suggest, in [64, 65536]."""
    return int(min(65536, max(64, 4 * np.sqrt(n_tokens))))


def _train_centroids(vectors: np.ndarray, nlist: int) -> np.ndarray:
    """k-means centroids (inner product) of a fixed sample of 64 vectors a list, as faiss trains IVF."""
    import faiss

    sample = vectors[
        np.random.default_rng(0).choice(len(vectors), min(len(vectors), 64 * nlist), replace=False)
    ]
    index = faiss.IndexIVFFlat(
        faiss.IndexFlatIP(vectors.shape[1]), vectors.shape[1], nlist, faiss.METRIC_INNER_PRODUCT
    )
    index.train(sample)
    return index.quantizer.reconstruct_n(0, nlist)


def _nearest(centroids: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Each vector's list: its nearest centroid by inner product."""
    import faiss

    quantizer = faiss.IndexFlatIP(centroids.shape[1])
    quantizer.add(np.ascontiguousarray(centroids, dtype=np.float32))
    return quantizer.search(np.ascontiguousarray(vectors, dtype=np.float32), 1)[1][:, 0].astype(np.int64)


def _ivf_index(centroids: np.ndarray, lists: np.ndarray, vectors: np.ndarray):
    """An IVF index over ``vectors`` with the given centroids and lists: no training, no assigning."""
    import faiss

    dim = centroids.shape[1]
    quantizer = faiss.IndexFlatIP(dim)
    quantizer.add(np.ascontiguousarray(centroids, dtype=np.float32))
    index = faiss.IndexIVFFlat(quantizer, dim, len(centroids), faiss.METRIC_INNER_PRODUCT)
    _add_to_lists(index, vectors, lists)
    return index


def _add_to_lists(index, vectors: np.ndarray, lists: np.ndarray) -> None:
    """Append ``vectors`` to an IVF index in the given lists (faiss's ``add_core``)."""
    import faiss

    x = np.ascontiguousarray(vectors, dtype=np.float32)
    assign = np.ascontiguousarray(lists, dtype=np.int64)
    index.add_core(len(x), faiss.swig_ptr(x), None, faiss.swig_ptr(assign))


def _read_ivf(folder: Path, n_tokens: int, dim: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The saved IVF centroids and lists when they fit the tokens; else ``None`` (trained again)."""
    if not all((folder / name).is_file() for name in IVF_FILES):
        return None
    centroids = load_npy(folder / IVF_FILES[0], "IVF centroids")
    lists = load_npy(folder / IVF_FILES[1], "IVF lists")
    fits = centroids.ndim == 2 and centroids.shape[1] == dim and centroids.dtype == np.float32
    fits = fits and lists.shape == (n_tokens,) and lists.dtype == np.int64
    if not (fits and len(lists) and 0 <= lists.min() and lists.max() < len(centroids)):
        logger.warning("%s: the saved IVF lists do not fit the tokens; they will be trained again", folder)
        return None
    return centroids, lists


@contextmanager
def _faiss_threads(n: int | None) -> Iterator[None]:
    """Run faiss on ``n`` threads for a moment (``None``: as configured).

    A few query tokens search faster on one thread, and faiss's idle OpenMP threads
    would otherwise spin against torch's while the next text is encoded.
    """
    import faiss

    before = faiss.omp_get_max_threads()
    if n is not None:
        faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def check_encoded_by(config: dict, model_name: str, dim: int, folder: Path) -> None:
    """Raise unless the index whose ``config`` this is was encoded by this model (name and dim)."""
    if (config["model"], config["dim"]) != (model_name, dim):
        raise IndexMismatchError(
            f"{folder} was built with model {config['model']!r} (dim {config['dim']}), not "
            f"{model_name!r} (dim {dim}); load it with that model or rebuild the graph"
        )


def _check_matrices(arrays: object, what: str) -> list[np.ndarray]:
    """A list of 2-D arrays of finite numbers with at least one row each, as float32."""
    if isinstance(arrays, np.ndarray) or not hasattr(arrays, "__iter__"):
        raise InputError(f"expected a list of {what} matrices [n_tokens, dim], got {type(arrays).__name__}")
    out = []
    for i, a in enumerate(arrays):
        try:
            a = np.asarray(a)
        except (ValueError, TypeError):
            raise InputError(f"{what} #{i} is not an array of numbers") from None
        if a.ndim != 2 or not a.shape[0] or not a.shape[1] or a.dtype.kind not in "fiu":
            raise InputError(f"{what} #{i} must be a non-empty 2-D array of numbers, got shape {a.shape}")
        a = a.astype(np.float32, copy=False)
        if not np.isfinite(a).all():
            raise InputError(f"{what} #{i} holds NaN or infinite values")
        out.append(a)
    return out


def _pad_columns(scores: np.ndarray, idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Widen top-k arrays to ``k`` columns with ``-inf`` / ``-1`` when there were fewer texts."""
    missing = k - scores.shape[1]
    return (
        np.pad(scores, ((0, 0), (0, missing)), constant_values=-np.inf),
        np.pad(idx, ((0, 0), (0, missing)), constant_values=-1),
    )


def _duplicates(ids: list[str]) -> list[str]:
    seen: set[str] = set()
    return [i for i in ids if i in seen or seen.add(i)]
