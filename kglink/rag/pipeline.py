"""Retrieve, prompt, generate: graph RAG in one call.

>>> from kglink.retrieval.retriever import PassageHit
>>> class Echo:  # any object with ``name`` and ``generate`` is a generator
...     name = "echo"
...     def generate(self, messages, *, max_new_tokens=128):
...         return "Paris [1]."
>>> class Fixed:  # and any object with ``retrieve`` a retriever
...     def retrieve(self, question, top_k=5):
...         return [PassageHit("p1", "Paris", "Paris is in France.", 1.0, ())]
>>> answer = RAGPipeline(Fixed(), Echo()).ask("Where is Paris?")
>>> answer.answer, answer.cited, [hit.title for hit in answer.cited_passages]
('Paris [1].', (1,), ['Paris'])
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from kglink.errors import InputError
from kglink.rag.generators import Generator, LocalGenerator
from kglink.rag.prompt import SYSTEM_PROMPT, build_messages, parse_citations

if TYPE_CHECKING:
    from kglink.bundle import GraphBundle
    from kglink.retrieval.retriever import GraphRetriever, PassageHit, Seed

logger = logging.getLogger(__name__)


class Retriever(Protocol):
    """What the pipeline needs from a retriever, e.g. :class:`~kglink.retrieval.retriever.GraphRetriever`."""

    def retrieve(self, question: str, top_k: int = 5) -> list[PassageHit]: ...


@dataclass(frozen=True)
class Answer:
    """A generated answer with what it was grounded on.

    ``passages`` are the retrieved passages, numbered from 1 in the prompt; ``cited``
    holds the numbers the answer cites (parsed from ``[n]``), ``seeds`` the question
    entities that seeded the graph walk (empty after a dense fallback).
    """

    question: str
    answer: str
    passages: tuple[PassageHit, ...]
    seeds: tuple[Seed, ...]
    cited: tuple[int, ...]

    @property
    def cited_passages(self) -> tuple[PassageHit, ...]:
        """The passages the answer cites, in order of first citation."""
        return tuple(self.passages[n - 1] for n in self.cited)


class RAGPipeline:
    """Answer questions from retrieved passages, citing them.

    Parameters
    ----------
    retriever
        Anything with ``retrieve(question, top_k)`` returning passage hits, normally a
        :class:`~kglink.retrieval.retriever.GraphRetriever`.
    generator
        A :class:`~kglink.rag.LocalGenerator`, :class:`~kglink.rag.ChatGenerator` or
        any object with ``generate(messages, max_new_tokens=...)``.
    max_new_tokens
        Reply length limit.
    max_passage_chars
        Each passage's text is cut to this many characters in the prompt (``None``:
        whole passages); small models do better with short prompts.
    system
        The instruction that opens the prompt.
    """

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        *,
        max_new_tokens: int = 128,
        max_passage_chars: int | None = 1000,
        system: str = SYSTEM_PROMPT,
    ) -> None:
        if max_new_tokens < 1:
            raise InputError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        self.retriever, self.generator = retriever, generator
        self.max_new_tokens, self.max_passage_chars = max_new_tokens, max_passage_chars
        self.system = system

    def messages(self, question: str, passages: list[PassageHit]) -> list[dict[str, str]]:
        """The prompt sent to the generator for ``question`` over ``passages``."""
        return build_messages(
            question, passages, system=self.system, max_passage_chars=self.max_passage_chars
        )

    def ask(self, question: str, top_k: int = 5) -> Answer:
        """Retrieve ``top_k`` passages for ``question``, generate an answer and parse its citations."""
        if top_k < 1:
            raise InputError(f"top_k must be >= 1, got {top_k}")
        hits = list(self.retriever.retrieve(question, top_k))
        reply = self.generator.generate(self.messages(question, hits), max_new_tokens=self.max_new_tokens)
        cited = parse_citations(reply, len(hits))
        if not cited:
            logger.info("the answer cites no passage: %r", reply[:200])
        seeds = hits[0].seeds if hits else ()
        return Answer(question, reply, tuple(hits), tuple(seeds), cited)


def ask(
    graph: GraphRetriever | GraphBundle | str | os.PathLike,
    question: str,
    *,
    top_k: int = 5,
    generator: Generator | None = None,
    max_new_tokens: int = 128,
    show_progress: bool = True,
) -> Answer:
    """One call: answer ``question`` from a graph, with the passages used and the seed entities.

    ``graph`` is a retriever, a loaded :class:`~kglink.bundle.GraphBundle` or a graph
    folder; ``generator`` defaults to :class:`LocalGenerator` (SmolLM2, offline, weak),
    loaded with loading bars unless ``show_progress`` is False.
    To ask many questions, build a :class:`RAGPipeline` once instead: this loads the
    graph and the generator on every call.
    """
    from kglink.bundle import GraphBundle
    from kglink.retrieval.retriever import GraphRetriever

    if isinstance(graph, (str, os.PathLike)):
        graph = GraphBundle.load(graph)
    retriever = graph if isinstance(graph, GraphRetriever) else GraphRetriever(graph)
    generator = generator or LocalGenerator(show_progress=show_progress)
    pipeline = RAGPipeline(retriever, generator, max_new_tokens=max_new_tokens)
    return pipeline.ask(question, top_k)
