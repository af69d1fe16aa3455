"""Training set-up that depends on the machine or the model: autocast dtype, a new projection."""

from __future__ import annotations

import numpy as np
import torch

from kglink.encoder.model import LateInteractionModel
from kglink.errors import InputError
from kglink.scores import compute_dtype

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device`` (``None``: plain float32).

    ``"auto"`` picks bfloat16 on a GPU that supports it, and on a CPU only where
    bfloat16 matmuls are fast (AMX); elsewhere bfloat16 is slower than float32.
    """
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "fp16" and device.type != "cuda":
        raise InputError("fp16 training needs a GPU; use bf16 or fp32 on CPU")
    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if compute_dtype(device) == torch.bfloat16 else None
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def init_projection(model: LateInteractionModel, names: list[str], dim: int) -> torch.nn.Module:
    """A new ``Linear(model.dim -> dim)`` after the current output, set to its principal directions.

    The rows are the top ``dim`` right singular vectors of the token vectors of
    ``names`` (up to 5,000 of them), so the untrained projection keeps what it can of
    the geometry instead of scrambling it, as a random projection would.
    """
    if not 0 < dim <= model.dim:
        raise InputError(f"projection_dim must be in 1..{model.dim}, got {dim}")
    tokens = np.concatenate(model.encode_documents(names[:5000]))
    _, _, vt = np.linalg.svd(tokens, full_matrices=False)
    linear = torch.nn.Linear(model.dim, dim, bias=False)
    linear.weight.data.copy_(torch.from_numpy(vt[:dim].copy()))
    old = model.modules()[1:] if len(model.modules()) > 1 else []
    return torch.nn.Sequential(*old, linear) if old else linear
