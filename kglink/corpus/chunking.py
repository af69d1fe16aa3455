"""The one chunker: documents cut into passages of a model's tokens, texts into token windows.

:func:`chunk_document` cuts a document (a :class:`~kglink.corpus.documents.Passage`) into
passages of at most ``max_tokens`` tokens of a model's tokenizer, at sentence boundaries
where it can (a sentence longer than the budget is cut between words). Each chunk keeps
its document's id as ``source`` and its character offsets in the document's text as
``start``/``end``.

Ids are content hashes, so a re-run on a grown corpus finds its new passages by id: a
document that fits in one chunk keeps the id :func:`~kglink.corpus.load_corpus` gives it
(the record's ``id``, else ``passage_id(title + "\\n" + text)``) and its text
unchanged; the chunks of a longer one are ``passage_id(title + "\\n" + chunk)``.

>>> doc = Passage("d1", "Paris", "Paris is big. It is old. It is in France.")
>>> [(p.text, p.start, p.end) for p in chunk_document(doc, max_tokens=6)]
[('Paris is big. It is old.', 0, 24), ('It is in France.', 25, 41)]
"""

from __future__ import annotations

import bisect
import logging
import os
import re
from collections.abc import Sequence
from typing import Any

from kglink.corpus.documents import Passage, load_documents, passage_id
from kglink.errors import InputError

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_TOKENS = 256
# a full stop, then closing quotes/brackets, then space, then what may start a sentence
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr prof gen col lt sgt capt mt ft no vs etc inc ltd co corp dept univ approx "
    "jan feb mar apr jun jul aug sep sept oct nov dec e.g i.e u.s u.k".split()
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``, whitespace between them left out.

    A sentence ends at ``.``, ``!`` or ``?`` followed by space and a capital letter or
    digit, unless the word before is a known abbreviation or a single letter (an
    initial); a blank line always ends one.

    >>> text = "Dr. J. Smith met Mr. Brown in the U.S. in 1990. They talked!\\n\\nThe end"
    >>> [text[a:b] for a, b in split_sentences(text)]
    ['Dr. J. Smith met Mr. Brown in the U.S. in 1990.', 'They talked!', 'The end']
    """
    cuts = [(m.start(), m.end()) for m in _PARAGRAPH.finditer(text)]
    for m in _SENTENCE_END.finditer(text):
        word = text[: m.start()].rsplit(None, 1)[-1] if text[: m.start()].strip() else ""
        word = word.lstrip("\"'(\u201c[").lower()
        if len(word) > 1 and word not in _ABBREVIATIONS:
            cuts.append((m.start() + len(m.group().rstrip()), m.end()))  # closing quotes stay
    spans, start = [], 0
    for cut_start, cut_end in sorted(cuts):
        if cut_start >= start:
            spans.append((start, cut_start))
            start = cut_end
    spans.append((start, len(text)))
    return [s for s in (_strip_span(text, a, b) for a, b in spans) if s[0] < s[1]]


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def token_spans(text: str, tokenizer: Any = None) -> list[tuple[int, int]]:
    """Character spans of the tokens of ``text``.

    ``tokenizer`` is a Hugging Face fast tokenizer, a
    :class:`~kglink.encoder.LateInteractionModel` (its tokenizer is used) or ``None``
    (whitespace-separated words).

    >>> token_spans("New York City")
    [(0, 3), (4, 8), (9, 13)]
    """
    if tokenizer is None:
        return [m.span() for m in re.finditer(r"\S+", text)]
    tokenizer = getattr(tokenizer, "tokenizer", tokenizer)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    return [(a, b) for a, b in enc["offset_mapping"] if b > a]


def chunk_document(
    doc: Passage, tokenizer: Any = None, max_tokens: int | None = DEFAULT_CHUNK_TOKENS
) -> list[Passage]:
    """Cut one document into passages of at most ``max_tokens`` tokens of its text.

    Whole sentences are packed greedily; a sentence over the budget is cut between
    words (between tokens only inside a word longer than the budget). ``max_tokens``
    ``None`` or ``0`` keeps the document whole. The title is not counted: every chunk
    carries it. See the module docstring for ids and offsets.
    """
    text = doc.text
    whole = Passage(doc.id, doc.title, text, source=doc.id, start=0, end=len(text))
    if not max_tokens:
        return [whole]
    if max_tokens < 0:
        raise InputError(f"max_tokens is {max_tokens}; give a positive token budget, or 0 for no chunking")
    tokens = token_spans(text, tokenizer)
    if len(tokens) <= max_tokens:
        return [whole]
    starts = [a for a, _ in tokens]
    units: list[tuple[int, int, int]] = []  # (char start, char end, tokens)
    for a, b in split_sentences(text):
        first, stop = bisect.bisect_left(starts, a), bisect.bisect_left(starts, b)
        units += _cut_long(text, tokens, first, stop, a, b, max_tokens)
    chunks = _pack(units, max_tokens)
    if len(chunks) == 1:
        return [whole]
    return [
        Passage(passage_id(f"{doc.title}\n{t}" if doc.title else t), doc.title, t, doc.id, a, b)
        for a, b in chunks
        for t in [text[a:b]]
    ]


def _cut_long(
    text: str, tokens: list[tuple[int, int]], first: int, stop: int, a: int, b: int, max_tokens: int
) -> list[tuple[int, int, int]]:
    """One unit for a sentence within budget; else pieces of it cut at word starts."""
    if stop - first <= max_tokens:
        return [(a, b, stop - first)]
    pieces = []
    while first < stop:
        end = min(first + max_tokens, stop)
        if end < stop:
            breaks = [i for i in range(first + 1, end + 1) if text[tokens[i][0] - 1].isspace()]
            end = breaks[-1] if breaks else end
        piece_end = tokens[end - 1][1] if end < stop else b
        pieces.append((tokens[first][0] if pieces else a, piece_end, end - first))
        first = end
    return pieces


def token_windows(text: str, tokenizer: Any, max_tokens: int) -> list[str]:
    """``text`` cut into pieces of at most ``max_tokens`` tokens, between words where it can.

    This is how a passage longer than the encoder's input is split for the dense index
    (the same cut :func:`chunk_document` makes inside an over-long sentence).

    >>> token_windows("one two three four five", None, 2)
    ['one two', 'three four', 'five']
    """
    tokens = token_spans(text, tokenizer)
    pieces = _cut_long(text, tokens, 0, len(tokens), 0, len(text), max_tokens) if tokens else []
    return [t for a, b, _ in pieces for t in [text[a:b].strip()] if t] or [text]


def _pack(units: list[tuple[int, int, int]], max_tokens: int) -> list[tuple[int, int]]:
    """Greedily join consecutive units while their token counts fit the budget."""
    chunks: list[tuple[int, int]] = []
    start, end, used = -1, -1, 0
    for a, b, n in units:
        if start >= 0 and used + n > max_tokens:
            chunks.append((start, end))
            start, used = -1, 0
        start = a if start < 0 else start
        end, used = b, used + n
    if start >= 0:
        chunks.append((start, end))
    return chunks


def chunk_documents(
    docs: Sequence[Passage], tokenizer: Any = None, max_tokens: int | None = DEFAULT_CHUNK_TOKENS
) -> list[Passage]:
    """:func:`chunk_document` over ``docs``; a chunk repeating an earlier id is dropped (logged)."""
    out: dict[str, Passage] = {}
    repeated = 0
    for doc in docs:
        for p in chunk_document(doc, tokenizer, max_tokens):
            repeated += p.id in out
            out.setdefault(p.id, p)
    if repeated:
        logger.warning("corpus: dropped %d passages that repeat an earlier one", repeated)
    logger.info("corpus: %d documents -> %d passages", len(docs), len(out))
    return list(out.values())


def load_passages(
    path: str | os.PathLike, tokenizer: Any = None, max_tokens: int | None = DEFAULT_CHUNK_TOKENS
) -> list[Passage]:
    """:func:`load_documents` then :func:`chunk_documents`: a corpus path to its passages."""
    return chunk_documents(load_documents(path), tokenizer, max_tokens)
