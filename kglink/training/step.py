"""One training step's loss: anchors against positives, in-batch and hard negatives."""

from __future__ import annotations

import torch

from kglink.encoder.model import LateInteractionModel
from kglink.training.batches import Example
from kglink.training.loss import colbert_loss, maxsim_matrix


def batch_loss(
    model: LateInteractionModel,
    batch: list[Example],
    concepts: dict[str, frozenset[str]],
    temperature: float,
    symmetric: bool = True,
) -> torch.Tensor:
    """Cross-entropy of each anchor over every positive and hard negative of the batch.

    Anchor ``i``'s label is its own positive; other names of its concept among the
    candidates are left out of its softmax. With ``symmetric`` the positives also
    query the anchors, and the two losses are averaged.
    """
    anchors = [a for a, _, _ in batch]
    positives = [p for _, p, _ in batch]
    candidates = positives + [n for _, _, n in batch if n is not None]
    queries, docs = _encode(model, anchors + (positives if symmetric else []), candidates + anchors)
    labels = torch.arange(len(batch), device=model.device)
    forward = maxsim_matrix(*queries(anchors), *docs(candidates))
    loss = colbert_loss(forward, labels, temperature, _ignore(anchors, positives, candidates, concepts))
    if not symmetric:
        return loss
    backward = maxsim_matrix(*queries(positives), *docs(anchors))
    ignore = _ignore(positives, anchors, anchors, concepts)
    return (loss + colbert_loss(backward, labels, temperature, ignore)) / 2


def _encode(model: LateInteractionModel, query_texts: list[str], doc_texts: list[str]):
    """Encode each distinct text once per side; return row pickers for queries and documents."""
    if model.shares_encodings:
        texts = list(dict.fromkeys(query_texts + doc_texts))
        hidden, (q_mask, d_mask) = model.token_embeddings(texts, (True, False))
        row = {t: i for i, t in enumerate(texts)}
        return _picker(hidden, q_mask, row), _picker(hidden, d_mask, row)
    q_texts, d_texts = list(dict.fromkeys(query_texts)), list(dict.fromkeys(doc_texts))
    q_hidden, (q_mask,) = model.token_embeddings(q_texts, (True,))
    d_hidden, (d_mask,) = model.token_embeddings(d_texts, (False,))
    q_row, d_row = {t: i for i, t in enumerate(q_texts)}, {t: i for i, t in enumerate(d_texts)}
    return _picker(q_hidden, q_mask, q_row), _picker(d_hidden, d_mask, d_row)


def _picker(hidden: torch.Tensor, mask: torch.Tensor, row: dict[str, int]):
    def pick(texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.tensor([row[t] for t in texts], device=hidden.device)
        return hidden[idx], mask[idx]

    return pick


def _ignore(
    queries: list[str], targets: list[str], candidates: list[str], concepts: dict[str, frozenset[str]]
) -> torch.Tensor:
    """True where a candidate shares a concept with query ``i`` but is not its target."""
    return torch.tensor(
        [
            [c != target and bool(concepts[c] & concepts[q]) for c in candidates]
            for q, target in zip(queries, targets)
        ]
    )
