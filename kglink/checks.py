"""Argument checks shared by the public API: a clear :class:`InputError` before any work.

>>> check_count(3, "top_k")
3
>>> check_count(-1, "top_k")
Traceback (most recent call last):
...
kglink.errors.InputError: top_k must be a whole number >= 1, got -1
>>> check_names("Paris", "mention")
Traceback (most recent call last):
...
kglink.errors.InputError: expected a list of mentions, got one string; wrap it in a list
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from kglink.errors import InputError


def check_count(value: object, what: str, minimum: int = 1) -> int:
    """``value`` as an int, if it is a whole number (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{what} must be a whole number >= {minimum}, got {value!r}")
    return value


def check_threshold(threshold: object, what: str = "threshold") -> float:
    """``threshold`` as a float, if it is a finite number in [0, 1]."""
    ok = isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
    if not ok or not math.isfinite(threshold) or not 0.0 <= threshold <= 1.0:
        raise InputError(f"{what} must be a number in [0, 1], got {threshold!r}")
    return float(threshold)


def check_names(names: object, what: str = "name") -> list[str]:
    """``names`` as a list of non-empty strings of valid Unicode, else an error naming the bad one."""
    if isinstance(names, str):
        raise InputError(f"expected a list of {what}s, got one string; wrap it in a list")
    if not isinstance(names, Sequence) and not _iterable_collection(names):
        raise InputError(f"expected a list of {what}s, got {type(names).__name__}")
    names = list(names)
    for i, name in enumerate(names):
        check_text(name, f"{what} #{i}")
    return names


def check_strings(values: object, what: str) -> list[str]:
    """``values`` as a list of strings; ids and stored texts may be any string, empty included."""
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        raise InputError(f"expected a list of {what}s, got {type(values).__name__}")
    values = list(values)
    bad = next((i for i, v in enumerate(values) if not isinstance(v, str)), None)
    if bad is not None:
        raise InputError(f"{what} #{bad} is {type(values[bad]).__name__}, not a string")
    return values


def check_text(text: object, what: str) -> str:
    """``text`` if it is a non-empty string that encodes as UTF-8 (no lone surrogates)."""
    if not isinstance(text, str):
        raise InputError(f"{what} is {type(text).__name__}, not a string")
    if not text.strip():
        raise InputError(f"{what} is empty or whitespace; drop it before encoding")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        bad = f"U+{ord(text[e.start]):04X}"
        raise InputError(f"{what} holds {bad}, a lone surrogate (no character); fix its encoding") from None
    return text


def _iterable_collection(value: object) -> bool:
    """Sets, dict views and generators count as lists of names; numbers and None do not."""
    return hasattr(value, "__iter__") and not isinstance(value, (bytes, bytearray, dict))
