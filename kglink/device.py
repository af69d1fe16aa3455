"""Where tensors live: resolved lazily, in this one place."""

from __future__ import annotations

import torch

from kglink.errors import InputError


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` gives cuda when available, else cpu; a name is checked against what exists.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise InputError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r} asked for but no CUDA GPU is visible; use 'cpu'")
    return dev
