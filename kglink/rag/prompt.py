"""Grounded prompts: numbered passages, an instruction to answer from them and cite them.

The prompt is kept short on purpose: the offline default generator (SmolLM2-135M)
follows a few plain sentences better than a long list of rules.

>>> messages = build_messages("Where is Paris?", ["Paris is in France."])
>>> print(messages[1]["content"])
Passages:
[1] Paris is in France.
<BLANKLINE>
Question: Where is Paris?
>>> parse_citations("Paris is in France [1], not Spain [3].", n_passages=2)
(1,)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from kglink.errors import InputError

SYSTEM_PROMPT = (
    "Answer the question using only the numbered passages. "
    "Cite the passages you use by their number in brackets, like [1]. "
    "If the passages do not contain the answer, say that you do not know. Be brief."
)

_BRACKETS = re.compile(r"\[((?:passages?\s*)?\d+(?:\s*(?:,|-|–|and)\s*(?:passages?\s*)?\d+)*)\]", re.I)
_NUMBER_OR_RANGE = re.compile(r"(\d+)(?:\s*[-–]\s*(\d+))?")


class PassageLike(Protocol):
    """Anything with a ``text`` and a ``title``: :class:`~kglink.results.PassageHit`, ``Passage``."""

    title: str
    text: str


def format_passage(number: int, passage: PassageLike | str, max_chars: int | None = None) -> str:
    """``"[n] title\\ntext"`` (no title line when there is none), text cut at ``max_chars``.

    >>> format_passage(2, "abcdef", max_chars=3)
    '[2] abc…'
    """
    title, text = ("", passage) if isinstance(passage, str) else (passage.title, passage.text)
    text = " ".join(text.split())
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars].rstrip() + "…"
    return f"[{number}] {title}\n{text}" if title else f"[{number}] {text}"


def build_messages(
    question: str,
    passages: Sequence[PassageLike | str],
    *,
    system: str = SYSTEM_PROMPT,
    max_passage_chars: int | None = None,
) -> list[dict[str, str]]:
    """Chat messages for a grounded answer: the instruction, then the numbered passages and question.

    Passages are numbered from 1 in the given order; :func:`parse_citations` reads the
    numbers back from the answer.

    Raises
    ------
    InputError
        If the question is empty.
    """
    if not question.strip():
        raise InputError("the question is empty; pass the question to answer")
    if max_passage_chars is not None and max_passage_chars < 1:
        raise InputError(f"max_passage_chars must be >= 1 or None, got {max_passage_chars}")
    blocks = [format_passage(i, p, max_passage_chars) for i, p in enumerate(passages, 1)]
    context = "Passages:\n" + "\n\n".join(blocks) if blocks else "Passages: (none were found)"
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": f"{context}\n\nQuestion: {question.strip()}"},
    ]


def parse_citations(answer: str, n_passages: int) -> tuple[int, ...]:
    """The passage numbers an answer cites, in order of first citation, each once.

    Reads ``[2]``, ``[1, 3]``, ``[1][2]``, ``[2-4]`` and ``[Passage 2]``; numbers
    outside ``1..n_passages`` are dropped (a small model invents some).

    >>> parse_citations("A [2][1], B [1, 3] and C [Passage 4] [2-3] [9]", n_passages=4)
    (2, 1, 3, 4)
    >>> parse_citations("no citation here (1)", n_passages=3)
    ()
    """
    cited: dict[int, None] = {}
    for group in _BRACKETS.finditer(answer):
        for start, end in _NUMBER_OR_RANGE.findall(group.group(1)):
            first, last = int(start), int(end or start)
            for number in range(first, min(last, first + n_passages) + 1):
                if 1 <= number <= n_passages:
                    cited.setdefault(number, None)
    return tuple(cited)
