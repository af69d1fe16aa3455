"""Weight-space ensembling (WiSE-FT): average the fine-tuned weights with the starting ones.

Fine-tuning on one domain's names moves the encoder away from what it knew about
other text. Interpolating the fine-tuned weights back toward the starting checkpoint
(Wortsman et al., *Robust fine-tuning of zero-shot models*, CVPR 2022) keeps most of
the in-domain gain and gives back the general-domain behaviour; it costs nothing at
training or query time.
"""

from __future__ import annotations

import torch

from kglink.errors import InputError


def interpolate(
    trained: dict[str, torch.Tensor], start: dict[str, torch.Tensor], base_weight: float
) -> dict[str, torch.Tensor]:
    """``(1 - base_weight) * trained + base_weight * start``, tensor by tensor.

    Non-float tensors (e.g. position id buffers) are taken from ``trained``.
    """
    if not 0.0 <= base_weight <= 1.0:
        raise InputError(f"base_weight must be in [0, 1], got {base_weight}")
    if trained.keys() != start.keys():
        raise InputError("the trained and starting weights have different tensors; cannot average them")
    out = {}
    for key, value in trained.items():
        if value.is_floating_point():
            base = start[key].to(value.device, value.dtype)
            out[key] = torch.lerp(value, base, base_weight)
        else:
            out[key] = value
    return out
