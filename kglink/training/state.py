"""Resumable training state: weights, optimiser, schedule, random state and the epoch's plan.

Saved as ``state.pt`` in the checkpoint folder (``torch.save`` of tensors and plain
Python values, loaded with ``weights_only=True``), written atomically; the best
weights so far sit beside it in ``best.pt``, and the starting weights (for
:func:`~kglink.training.merge.interpolate`) in ``start.pt``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch

from kglink.artifacts import atomic_write_bytes
from kglink.errors import ArtifactError

STATE_FILE = "state.pt"
BEST_FILE = "best.pt"
START_FILE = "start.pt"


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    """``torch.save`` to a temp file, then rename over ``path``."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_torch(path: str | os.PathLike) -> Any:
    """Load what :func:`save_torch` wrote (tensors, numbers, strings, lists, dicts only)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError) as e:
        raise ArtifactError(
            f"cannot read training checkpoint {path} ({e}); delete it to start over"
        ) from None


def weights(modules: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the weights (to keep the best ones while training goes on)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in modules.state_dict().items()}


def has_state(folder: Path) -> bool:
    return (folder / STATE_FILE).is_file()
