"""MaxSim scoring as pure functions on token matrices, with a slow reference beside it.

``maxsim(Q, D) = sum_i max_j <Q_i, D_j>``: each query token takes its best match
among the document's tokens. Token sets are passed *packed*: one ``[n_tokens, dim]``
array for all texts plus ``offsets`` (text ``k`` owns rows ``offsets[k]:offsets[k+1]``).

The fast path scores blocks of queries against blocks of length-sorted documents,
so the ``[q_tokens, d_tokens]`` similarity block never exceeds ``budget`` elements,
whatever the sizes. Documents are padded by repeating their own first token (which
leaves every max unchanged); queries are padded with zero vectors (which add 0).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from kglink.device import resolve_device
from kglink.errors import InputError

DEFAULT_BUDGET = 1 << 24  # similarity elements held at once (64 MB in float32)
QUERY_BLOCK_TOKENS = 2048  # query rows per matmul block
NORMALIZATIONS = ("raw", "mean", "self")  # "symmetric" combines two "self" scores: see EntityIndex


def pack(embeddings: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack token matrices into ``(tokens, offsets)``.

    >>> tokens, offsets = pack([np.ones((2, 3)), np.zeros((1, 3))])
    >>> tokens.shape, offsets.tolist()
    ((3, 3), [0, 2, 3])
    """
    if len(embeddings) == 0:
        raise InputError("no token matrices given")
    dims = {e.shape[1] for e in embeddings if e.ndim == 2}
    if len(dims) != 1 or any(e.ndim != 2 or e.shape[0] == 0 for e in embeddings):
        raise InputError("every embedding must be a non-empty [n_tokens, dim] array of one dim")
    offsets = np.zeros(len(embeddings) + 1, dtype=np.int64)
    np.cumsum([e.shape[0] for e in embeddings], out=offsets[1:])
    return np.concatenate(embeddings, axis=0), offsets


def compute_dtype(device: torch.device) -> torch.dtype:
    """The fastest exact-enough matmul type: float16 on GPU, bfloat16 with AMX, else float32."""
    if device.type == "cuda":
        return torch.float16
    return torch.bfloat16 if torch.cpu._is_amx_tile_supported() else torch.float32


def maxsim_reference(queries: Sequence[np.ndarray], docs: Sequence[np.ndarray]) -> np.ndarray:
    """Plain-loop MaxSim in float64: ``[n_queries, n_docs]`` raw scores (for tests)."""
    out = np.zeros((len(queries), len(docs)))
    for a, q in enumerate(queries):
        for b, d in enumerate(docs):
            out[a, b] = sum(max(float(np.dot(qi, dj)) for dj in d) for qi in q)
    return out


def maxsim(
    queries: Sequence[np.ndarray],
    docs: Sequence[np.ndarray],
    *,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    budget: int = DEFAULT_BUDGET,
) -> np.ndarray:
    """Raw MaxSim of every query against every document, ``[n_queries, n_docs]`` float32.

    >>> q = [np.array([[1.0, 0.0], [0.0, 1.0]])]
    >>> d = [np.array([[1.0, 0.0]]), np.array([[0.6, 0.8], [0.0, 1.0]])]
    >>> print(maxsim(q, d, device="cpu").round(3))
    [[1.  1.6]]
    """
    out = np.zeros((len(queries), len(docs)), dtype=np.float32)
    for q_idx, d_idx, block in score_blocks(*pack(queries), *pack(docs), device, dtype, budget):
        out[np.ix_(q_idx, d_idx)] = block.float().cpu().numpy()
    return out


def maxsim_topk(
    queries: tuple[np.ndarray, np.ndarray],
    docs: tuple[np.ndarray, np.ndarray],
    k: int,
    *,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    budget: int = DEFAULT_BUDGET,
) -> tuple[np.ndarray, np.ndarray]:
    """Exhaustive top-``k`` documents per query over packed inputs: ``(scores, doc_indices)``.

    Both arrays are ``[n_queries, min(k, n_docs)]``, best first; memory stays bounded
    by ``budget`` plus the running top-k.
    """
    n_q, n_d = len(queries[1]) - 1, len(docs[1]) - 1
    k = min(k, n_d)
    best = torch.full((n_q, k), -torch.inf)
    best_idx = torch.zeros((n_q, k), dtype=torch.long)
    for q_idx, d_idx, block in score_blocks(*queries, *docs, device, dtype, budget):
        q_t, d_t = torch.from_numpy(q_idx), torch.from_numpy(d_idx)
        scores = torch.cat([best[q_t], block.float().cpu()], dim=1)
        cand = torch.cat([best_idx[q_t], d_t.expand(len(q_t), -1)], dim=1)
        top = scores.topk(k, dim=1)
        best[q_t], best_idx[q_t] = top.values, cand.gather(1, top.indices)
    return best.numpy(), best_idx.numpy()


def score_blocks(
    q_tokens: np.ndarray,
    q_offsets: np.ndarray,
    d_tokens: np.ndarray,
    d_offsets: np.ndarray,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    budget: int = DEFAULT_BUDGET,
) -> Iterator[tuple[np.ndarray, np.ndarray, torch.Tensor]]:
    """Yield ``(query_indices, doc_indices, raw_scores)`` blocks that cover all pairs."""
    if q_tokens.shape[1] != d_tokens.shape[1]:
        raise InputError(f"query dim {q_tokens.shape[1]} != document dim {d_tokens.shape[1]}")
    dev = resolve_device(device)
    dtype = dtype or compute_dtype(dev)
    q_all = torch.from_numpy(np.ascontiguousarray(q_tokens)).to(dev, dtype)
    d_all = torch.from_numpy(np.ascontiguousarray(d_tokens)).to(dev, dtype)
    q_len, d_len = np.diff(q_offsets), np.diff(d_offsets)
    q_order, d_order = np.argsort(q_len, kind="stable"), np.argsort(d_len, kind="stable")
    for q_idx in _chunks(q_order, q_len, max(QUERY_BLOCK_TOKENS, int(q_len.max()))):
        q = _padded(q_all, q_offsets, q_idx, q_len, repeat=False)  # [nq, Lq, dim]
        q_flat = q.reshape(-1, q.shape[-1])
        for d_idx in _chunks(d_order, d_len, max(budget // q_flat.shape[0], int(d_len.max()))):
            d = _padded(d_all, d_offsets, d_idx, d_len, repeat=True)  # [nd, Ld, dim]
            sim = q_flat @ d.reshape(-1, d.shape[-1]).T
            sim = sim.view(q.shape[0], q.shape[1], d.shape[0], d.shape[1])
            yield q_idx, d_idx, sim.amax(dim=3).float().sum(dim=1)


def _chunks(order: np.ndarray, lengths: np.ndarray, max_cells: int) -> Iterator[np.ndarray]:
    """Split length-sorted ``order`` so that count x longest length stays <= ``max_cells``."""
    start = 0
    while start < len(order):
        room = max_cells // int(lengths[order[start]]) + 1
        width = lengths[order[start : start + room]]  # ascending: a chunk's max is its last
        fits = np.nonzero(np.arange(1, len(width) + 1) * width <= max_cells)[0]
        stop = start + (int(fits[-1]) + 1 if len(fits) else 1)
        yield order[start:stop]
        start = stop


def _padded(
    tokens: torch.Tensor, offsets: np.ndarray, idx: np.ndarray, lengths: np.ndarray, repeat: bool
) -> torch.Tensor:
    """Gather texts ``idx`` into ``[len(idx), max_len, dim]``, padding by repetition or zeros."""
    lens = torch.from_numpy(lengths[idx])
    width = int(lens.max())
    steps = torch.arange(width)
    pos = torch.where(steps < lens[:, None], steps, 0)
    out = tokens[(torch.from_numpy(offsets[idx])[:, None] + pos).to(tokens.device)]
    if not repeat:
        out = out * (steps < lens[:, None]).to(out.device, out.dtype)[..., None]
    return out


def normalize_scores(
    raw: np.ndarray,
    method: str,
    query_lengths: np.ndarray | None = None,
    self_scores: np.ndarray | None = None,
) -> np.ndarray:
    """Map raw MaxSim ``[n_queries, ...]`` to [0, 1].

    ``mean`` divides by the query's token count, ``self`` by the query's MaxSim
    against its own document encoding (HippoRAG v1). Results are clipped to [0, 1].
    ``symmetric`` is the mean of two ``self`` scores, computed by the caller.
    """
    if method == "raw":
        return raw
    if method == "mean":
        denom = query_lengths
    elif method == "self":
        denom = self_scores
    else:
        raise InputError(f"normalization must be one of {NORMALIZATIONS}, got {method!r}")
    denom = np.asarray(denom, dtype=np.float32).reshape(-1, *([1] * (raw.ndim - 1)))
    return np.clip(raw / np.maximum(denom, 1e-6), 0.0, 1.0)


def maxsim_candidates(
    q_tokens: np.ndarray,
    q_offsets: np.ndarray,
    d_tokens: np.ndarray,
    d_offsets: np.ndarray,
    candidates: Sequence[np.ndarray],
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact MaxSim of each query against its own candidate documents, top-``k`` kept.

    Returns ``(scores, doc_positions)``, both ``[n_queries, k]``, best first, padded
    with ``-inf`` / ``-1`` where a query has fewer than ``k`` candidates. Computed on the
    CPU in float32 by :func:`maxsim_gathered` (torch's matmul: numpy's BLAS threads
    would spin against torch's and slow the encoder that runs next).
    """
    n_q = len(q_offsets) - 1
    width = max([len(c) for c in candidates] + [1])
    cand = np.full((n_q, width), -1, dtype=np.int64)
    for a, c in enumerate(candidates):
        cand[a, : len(c)] = c
    raw = maxsim_gathered(q_tokens, q_offsets, d_tokens, d_offsets, cand)
    order = np.argsort(-raw, axis=1, kind="stable")[:, :k]
    scores, positions = np.take_along_axis(raw, order, 1), np.take_along_axis(cand, order, 1)
    positions[~np.isfinite(scores)] = -1
    missing = k - scores.shape[1]
    scores = np.pad(scores, ((0, 0), (0, missing)), constant_values=-np.inf)
    return scores.astype(np.float32), np.pad(positions, ((0, 0), (0, missing)), constant_values=-1)


def maxsim_gathered(
    q_tokens: np.ndarray,
    q_offsets: np.ndarray,
    d_tokens: np.ndarray,
    d_offsets: np.ndarray,
    candidates: np.ndarray,
    budget: int = DEFAULT_BUDGET,
) -> np.ndarray:
    """Raw MaxSim of query ``a`` against document ``candidates[a, j]``: ``[n_queries, C]`` float32.

    ``candidates`` is ``[n_queries, C]``, ``-1`` where a query has fewer (scored ``-inf``).
    Queries are taken in blocks, shortest first; each block's candidates are gathered
    into one padded ``[block, C * doc_len, dim]`` tensor and scored by one batched
    matmul, so a pair costs what it costs in the exhaustive blocks, not a Python step.
    The similarity elements (and gathered document rows) held at once stay near ``budget``.

    >>> q, d = pack([np.eye(2, dtype=np.float32)]), pack([np.eye(2, dtype=np.float32)[:1]] * 2)
    >>> maxsim_gathered(*q, *d, np.array([[1, -1]])).tolist()
    [[1.0, -inf]]
    """
    n_q, width = candidates.shape
    out = np.full((n_q, width), -np.inf, dtype=np.float32)
    if not n_q or not width or not (candidates >= 0).any():
        return out
    q_all = torch.from_numpy(np.ascontiguousarray(q_tokens, dtype=np.float32))
    d_all = torch.from_numpy(np.ascontiguousarray(d_tokens, dtype=np.float32))
    q_len, d_len = np.diff(q_offsets), np.diff(d_offsets)
    valid = candidates >= 0
    safe = np.where(valid, candidates, 0)
    longest = np.where(valid, d_len[safe], 0).max(axis=1)  # each query's longest candidate
    order = np.lexsort((longest, q_len))
    dim = q_tokens.shape[1]
    d_buf, sim_buf = torch.empty(0), torch.empty(0)  # reused: fresh large tensors page-fault (10x slower)
    steps = np.arange(int(d_len.max()))
    for block in _gather_blocks(q_len[order], longest[order], width, dim, budget):
        block = order[block]
        q = _padded(q_all, q_offsets, block, q_len, repeat=False)  # [b, Lq, dim]
        flat = safe[block].reshape(-1)
        ld = max(1, int(longest[block].max()))
        rows = d_offsets[flat][:, None] + np.where(steps[:ld] < d_len[flat][:, None], steps[:ld], 0)
        rows = torch.from_numpy(rows.reshape(-1))
        if d_buf.numel() < rows.numel() * dim:
            d_buf = torch.empty(rows.numel() * dim)
        d = torch.index_select(d_all, 0, rows, out=d_buf[: rows.numel() * dim].view(-1, dim))
        d = d.view(len(block), width * ld, dim)  # document tokens padded by their own first one
        if sim_buf.numel() < len(block) * q.shape[1] * width * ld:
            sim_buf = torch.empty(len(block) * q.shape[1] * width * ld)
        sim = sim_buf[: len(block) * q.shape[1] * width * ld].view(len(block), q.shape[1], width * ld)
        torch.bmm(q, d.transpose(1, 2), out=sim)
        out[block] = sim.view(len(block), q.shape[1], width, ld).amax(dim=3).sum(dim=1).numpy()
    out[~valid] = -np.inf
    return out


def _gather_blocks(
    q_len: np.ndarray, d_len: np.ndarray, width: int, dim: int, budget: int
) -> Iterator[slice]:
    """Consecutive slices whose gathered rows plus similarities (``count x width x longest
    document x (longest query + dim)`` elements) stay within ``budget``."""
    start, n = 0, len(q_len)
    while start < n:
        ahead = slice(start, min(n, start + 4096))
        longest_q, longest_d = np.maximum.accumulate(q_len[ahead]), np.maximum.accumulate(d_len[ahead])
        cost = np.arange(1, len(longest_q) + 1) * width * np.maximum(longest_d, 1) * (longest_q + dim)
        stop = start + max(1, int(np.searchsorted(cost, budget, side="right")))
        yield slice(start, stop)
        start = stop
