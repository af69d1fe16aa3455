"""Entity-name normalisation, HippoRAG-style.

>>> normalize_name("  Leland Stanford Jr.  ")
'leland stanford jr'
>>> alnum_count("U.S.")
2
"""

from __future__ import annotations

import re

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalize_name(name: str) -> str:
    """Lowercase, turn every run of non-alphanumerics into one space, strip.

    This is the key HippoRAG uses for entity nodes (``processing_phrases``),
    with runs collapsed so that ``"A-B"`` and ``"A - B"`` give the same key.
    Non-ASCII letters count as non-alphanumeric, as in HippoRAG.
    """
    return _NON_ALNUM.sub(" ", name.lower()).strip()


def alnum_count(name: str) -> int:
    """Number of ASCII letters and digits in ``name`` (case-insensitive)."""
    return sum(ch.isascii() and ch.isalnum() for ch in name)
