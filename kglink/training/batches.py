"""Training examples and batches from concept groups: anchor, positive, hard negative.

Every name of a concept with two or more names is an anchor once per epoch, paired
with another name of its concept. Other names of an anchor's concept that land in its
batch are left out of its softmax by the loss (see :func:`ignore_mask`), not treated
as negatives.

>>> from collections import Counter
>>> groups = {"c1": Counter({"heart attack": 2, "mi": 1}), "c2": Counter({"flu": 1, "influenza": 1})}
>>> plan = plan_epoch(groups, {}, batch_size=2, seed=0, epoch=0)
>>> [len(b) for b in plan], sorted(a for b in plan for a, _, _ in b)
([2, 2], ['flu', 'heart attack', 'influenza', 'mi'])
"""

from __future__ import annotations

import random

from kglink.synonymy.groups import Groups

Example = tuple[str, str, str | None]  # anchor, positive, hard negative (or None)


def plan_epoch(
    groups: Groups, negatives: dict[str, list[str]], batch_size: int, seed: int, epoch: int
) -> list[list[Example]]:
    """The epoch's batches, the same for the same ``seed``, ``epoch`` and ``negatives``."""
    rng = random.Random(seed * 100_003 + epoch)
    examples: list[Example] = []
    for concept in sorted(groups):
        names = sorted(groups[concept])
        for anchor in names if len(names) > 1 else ():
            positive = rng.choice([n for n in names if n != anchor])
            pool = negatives.get(anchor, [])
            examples.append((anchor, positive, rng.choice(pool) if pool else None))
    rng.shuffle(examples)
    return [examples[i : i + batch_size] for i in range(0, len(examples), batch_size)]
