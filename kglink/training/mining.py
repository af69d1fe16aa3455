"""Hard negatives: the names the current model scores highest that belong to another concept."""

from __future__ import annotations

import numpy as np

from kglink.encoder.model import LateInteractionModel
from kglink.scores import maxsim_topk, pack


def mine_hard_negatives(
    model: LateInteractionModel,
    names: list[str],
    concepts: dict[str, frozenset[str]],
    per_name: int = 10,
    batch_size: int = 256,
    progress: bool | None = None,
) -> dict[str, list[str]]:
    """For each name, up to ``per_name`` other names the model ranks highest, best first.

    A candidate that shares any concept with the name (a true synonym, or the name
    itself) is never returned, so ambiguous names cannot leak in as negatives.
    """
    queries, docs = model.encode_both(names, batch_size=batch_size, progress=progress)
    k = min(len(names), per_name + _most_synonyms(names, concepts))
    scores, idx = maxsim_topk(pack(queries), pack(docs), k)
    out: dict[str, list[str]] = {}
    for i, name in enumerate(names):
        mine = concepts[name]
        order = np.argsort(-scores[i], kind="stable")
        picked = [names[j] for j in idx[i][order] if not (concepts[names[j]] & mine)]
        out[name] = picked[:per_name]
    return out


def _most_synonyms(names: list[str], concepts: dict[str, frozenset[str]]) -> int:
    """The most names (itself included) that share a concept with any one name."""
    members: dict[str, set[str]] = {}
    for name in names:
        for concept in concepts[name]:
            members.setdefault(concept, set()).add(name)
    return max(len(set().union(*(members[c] for c in concepts[n]))) for n in names)
