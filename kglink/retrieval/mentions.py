"""Query entities without an LLM: the question's word n-grams, to be linked against the KG.

A mention finder is any callable ``question -> list of Mention`` (or of plain strings), so an
NER model or an LLM can replace :class:`NgramMentions`. Mentions with character offsets
may overlap; the retriever keeps the best-linked non-overlapping ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’.-][A-Za-z0-9]+)*")
STOPWORDS = frozenset(
    "a an the of in on at to for from by with and or but is are was were be been being has have had do does "
    "did which who whom whose what when where why how that this these those it its his her their there "
    "as into than then so such not no nor also about after before during between over under same he she "
    "they him them we us you i many much more most some any all each other one".split()
)


@dataclass(frozen=True)
class Mention:
    """A span of the question; ``start``/``end`` are character offsets (-1 when unknown)."""

    text: str
    start: int = -1
    end: int = -1

    def overlaps(self, other: Mention) -> bool:
        if self.start < 0 or other.start < 0:
            return False
        return self.start < other.end and other.start < self.end


class NgramMentions:
    """Every run of 1 to ``max_words`` words that neither starts nor ends with a stopword.

    With ``named_only`` (the default), only runs holding a name-like word are kept: a
    capitalised word other than the question's first, or a word with a digit. A
    question with no such run (say, all lowercase) keeps every run.

    >>> [m.text for m in NgramMentions(max_words=3)("Who founded the Journal of Physics?")]
    ['founded the Journal', 'Journal', 'Journal of Physics', 'Physics']
    >>> [m.text for m in NgramMentions(max_words=2)("who founded it in 1905")]
    ['1905']
    >>> [m.text for m in NgramMentions(max_words=2)("who founded it")]
    ['founded']
    """

    def __init__(
        self, max_words: int = 4, stopwords: frozenset[str] = STOPWORDS, named_only: bool = True
    ) -> None:
        self.max_words = max_words
        self.stopwords = stopwords
        self.named_only = named_only

    def __call__(self, question: str) -> list[Mention]:
        words = list(_WORD.finditer(question))
        named = [
            i > 0 and w.group()[0].isupper() or any(c.isdigit() for c in w.group())
            for i, w in enumerate(words)
        ]
        spans, kept = [], []
        for i, first in enumerate(words):
            if first.group().lower() in self.stopwords:
                continue
            for j in range(i, min(i + self.max_words, len(words))):
                if words[j].group().lower() not in self.stopwords:
                    span = Mention(question[first.start() : words[j].end()], first.start(), words[j].end())
                    spans.append(span)
                    if any(named[i : j + 1]):
                        kept.append(span)
        return kept if (self.named_only and kept) else spans
