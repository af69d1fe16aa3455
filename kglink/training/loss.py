"""The ColBERT training objective: softmax cross-entropy over MaxSim scores.

Scores are differentiable MaxSim sums divided by the number of query tokens, the
scale on which kglink thresholds synonyms (for a name its own best match is itself,
so this equals the ``self`` normalisation of :class:`~kglink.index.entities.EntityIndex`).
"""

from __future__ import annotations

import torch


def maxsim_matrix(
    queries: torch.Tensor, query_mask: torch.Tensor, docs: torch.Tensor, doc_mask: torch.Tensor
) -> torch.Tensor:
    """``[n_queries, n_docs]`` MaxSim of padded token matrices, divided by query token counts.

    ``queries`` is ``[nq, lq, dim]`` with ``query_mask`` ``[nq, lq]`` (True = a real
    token); ``docs`` likewise. Masked document tokens never win a max; masked query
    tokens add nothing.

    Examples
    --------
    >>> q = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    >>> d = torch.tensor([[[0.6, 0.8], [1.0, 0.0]], [[0.0, 1.0], [9.0, 9.0]]])
    >>> maxsim_matrix(q, torch.tensor([[True, True]]), d, torch.tensor([[True, True], [True, False]]))
    tensor([[0.9000, 0.5000]])
    """
    sim = torch.einsum("qid,pjd->qpij", queries, docs)
    sim = sim.masked_fill(~doc_mask[None, :, None, :], float("-inf")).amax(dim=-1)
    sim = (sim * query_mask[:, None, :]).sum(dim=-1)
    return sim / query_mask.sum(dim=-1, keepdim=True).clamp(min=1)


def colbert_loss(
    scores: torch.Tensor, labels: torch.Tensor, temperature: float, ignore: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean cross-entropy of ``softmax(scores / temperature)`` against ``labels``.

    ``ignore`` (bool, same shape as ``scores``) removes candidates from the softmax,
    e.g. other names of the anchor's own concept that are not its labelled positive.

    Examples
    --------
    >>> s = torch.tensor([[0.9, 0.5]])
    >>> round(colbert_loss(s, torch.tensor([0]), 0.1).item(), 4)  # -log(e^9 / (e^9 + e^5))
    0.0181
    """
    logits = scores / temperature
    if ignore is not None:
        logits = logits.masked_fill(ignore, float("-inf"))
    return torch.nn.functional.cross_entropy(logits, labels)
