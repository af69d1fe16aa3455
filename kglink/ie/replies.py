"""Read entities and triples out of an LLM's reply, however messy it is.

Models wrap JSON in code fences, add chatter before or after it, use Python's single
quotes, or stop mid-list at ``max_tokens``. :func:`parse_entities` and
:func:`parse_triples` first try to load the reply as one JSON (or Python literal) value;
when that fails they salvage every complete item they can find, so a truncated list
still yields its finished triples. Items of the wrong shape are dropped and counted.

>>> parse_triples('```json\\n{"triples": [["Paris", "capital of", "France"], ["Paris", "big"]]}\\n```')
Parsed(items=(('Paris', 'capital of', 'France'),), dropped=1, salvaged=False)
>>> parse_triples('{"triples": [["A", "likes", "B"], ["B", "lik')  # cut off at max_tokens
Parsed(items=(('A', 'likes', 'B'),), dropped=0, salvaged=True)
>>> parse_entities("Sure! {'named_entities': ['Radio City', 'India']} Hope this helps.")
Parsed(items=('Radio City', 'India'), dropped=0, salvaged=False)
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Any

_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)(?:```|$)", re.DOTALL)
_STRING = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'""", re.DOTALL)
_INNER_LIST = re.compile(r"""\[((?:[^\[\]"']|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')*)\]""", re.DOTALL)


@dataclass(frozen=True)
class Parsed:
    """What a reply held: the good ``items``, how many were ``dropped`` as malformed, and
    whether they were ``salvaged`` from a reply that did not load as a whole."""

    items: tuple
    dropped: int
    salvaged: bool


def parse_entities(reply: str) -> Parsed:
    """Entity strings from a ``{"named_entities": [...]}`` reply (a bare list works too)."""
    value = load_value(reply)
    if value is not None:
        return _clean_entities(_pick_list(value, "named_entities", nested=False), salvaged=False)
    body = strip_fences(reply)
    key = body.find("named_entities")
    start = body.find("[", key if key >= 0 else 0)
    if start < 0:
        return Parsed((), 0, True)
    end = body.find("]", start)
    strings = [_unquote(m.group()) for m in _STRING.finditer(body, start + 1, end if end >= 0 else len(body))]
    return _clean_entities([s for s in strings if s is not None], salvaged=True)


def parse_triples(reply: str, key: str = "triples") -> Parsed:
    """``(subject, predicate, object)`` triples from a ``{"triples": [[s, p, o], ...]}`` reply.

    ``key`` names the list (``"fact"`` in HippoRAG 2's recognition-memory replies).
    """
    value = load_value(reply)
    if value is not None:
        return _clean_triples(_pick_list(value, key, nested=True), salvaged=False)
    body = strip_fences(reply)
    key = body.find(key)
    lists = []
    for m in _INNER_LIST.finditer(body, key if key >= 0 else 0):
        item = _literal("[" + m.group(1) + "]")
        lists.append(item if isinstance(item, list) else None)
    return _clean_triples(lists, salvaged=True)


def strip_fences(text: str) -> str:
    """The inside of the first Markdown code fence, or ``text`` as it is when there is none.

    >>> strip_fences('Here:\\n```json\\n[1, 2]\\n```\\nDone.')
    '[1, 2]\\n'
    """
    m = _FENCE.search(text)
    return m.group(1) if m else text


def load_value(text: str) -> Any:
    """The first complete JSON object or list in ``text`` (Python literals accepted), or ``None``.

    >>> load_value('The answer is {"a": [1, 2]} and more {"b": 3}')
    {'a': [1, 2]}
    >>> load_value('{"a": [1, 2') is None
    True
    """
    body = strip_fences(text)
    starts = [i for i in (body.find("{"), body.find("[")) if i >= 0]
    for start in sorted(starts):
        end = _balanced_end(body, start)
        if end is None:
            continue
        value = _literal(body[start:end])
        if value is not None:
            return value
    return None


def _pick_list(value: Any, key: str, nested: bool) -> list:
    """``value[key]``; else ``value`` if it is a list; else the first list in a dict whose items
    are lists (``nested``) or are not; else ``[]``."""
    if isinstance(value, list):
        return value
    if not isinstance(value, dict):
        return []
    if isinstance(value.get(key), list):
        return value[key]
    lists = [v for v in value.values() if isinstance(v, list) and v]
    return next((v for v in lists if all(isinstance(t, list) for t in v) == nested), [])


def _balanced_end(text: str, start: int) -> int | None:
    """Index just past the bracket closing ``text[start]``, skipping quoted strings; ``None`` if unclosed."""
    depth, quote, escaped = 0, "", False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _literal(chunk: str) -> Any:
    """``chunk`` as JSON, else as a Python literal (single quotes, trailing commas), else ``None``."""
    try:
        return json.loads(chunk)
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(chunk)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _unquote(token: str) -> str | None:
    value = _literal(token)
    return value if isinstance(value, str) else None


def _text(value: Any) -> str | None:
    """A non-empty stripped string from a string or number, else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = " ".join(str(value).split())
    return text or None


def _clean_entities(values: list, salvaged: bool) -> Parsed:
    items, dropped = [], 0
    for value in values:
        text = _text(value)
        if text is None:
            dropped += 1
        elif text not in items:
            items.append(text)
    return Parsed(tuple(items), dropped, salvaged)


def _clean_triples(values: list, salvaged: bool) -> Parsed:
    items, dropped = [], 0
    for value in values:
        parts = [_text(v) for v in value] if isinstance(value, (list, tuple)) else []
        if len(parts) != 3 or None in parts:
            dropped += 1
        elif tuple(parts) not in items:
            items.append(tuple(parts))
    return Parsed(tuple(items), dropped, salvaged)
