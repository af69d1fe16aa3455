"""Retrieval-augmented generation over a kglink graph.

:class:`RAGPipeline` retrieves passages (normally with
:class:`~kglink.retrieval.retriever.GraphRetriever`), builds a grounded prompt that numbers them
(:func:`build_messages`), generates an answer with a :class:`LocalGenerator`
(transformers, offline; SmolLM2-135M by default) or a :class:`ChatGenerator` (an
OpenAI-compatible endpoint), and returns an :class:`Answer` with the passages used,
the ones cited and the seed entities. :func:`ask` does all of it in one call.
"""

from __future__ import annotations

from kglink.rag.generators import ChatGenerator, Generator, LocalGenerator, smollm2_gguf
from kglink.rag.pipeline import Answer, RAGPipeline, Retriever, ask
from kglink.rag.prompt import SYSTEM_PROMPT, build_messages, format_passage, parse_citations

__all__ = [
    "SYSTEM_PROMPT",
    "Answer",
    "ChatGenerator",
    "Generator",
    "LocalGenerator",
    "RAGPipeline",
    "Retriever",
    "ask",
    "build_messages",
    "format_passage",
    "parse_citations",
    "smollm2_gguf",
]
