"""kglink: entity linking and knowledge-graph synonymy with late interaction.

The public nouns, imported flat::

    from kglink import LateInteractionModel, LateInteractionIndex, EntityIndex, KnowledgeGraph

The package is laid out in the order data flows through it:

- ``scores`` (MaxSim), ``ppr`` (PageRank): pure math on arrays (numpy, torch, scipy);
- ``encoder/``: the late-interaction model, loaded from its checkpoint's files;
- ``index/``: token, entity and passage indexes searched by MaxSim (the one place faiss is used);
- ``corpus/``: documents read, chunked, and their OpenIE records;
- ``ie/``: extraction backends, passage to entities and triples;
- ``graph/``: the knowledge graph (networkx only);
- ``bundle``: :class:`GraphBundle`, a graph with its indexes, built, updated, saved;
- ``retrieval/``: question mentions, Personalized PageRank, evaluation;
- ``synonymy/``, ``training/``: gold synonym sets and encoder training;
- ``rag/``: answers grounded in retrieved passages; ``cli/``: the ``kglink`` command.

Plumbing sits beside them: ``errors``, ``checks`` (argument checks), ``artifacts/`` (every
file and folder read and written), ``results`` (the records that cross folders), ``text``,
``device`` and ``chat``.

Names are imported on first use, so ``import kglink`` (and ``kglink --help``)
does not load torch. The module paths of kglink 0.1 still import (see ``kglink._moved``).
"""

from __future__ import annotations

import importlib

from kglink import _moved
from kglink._version import __version__

_WHERE = {
    "Answer": "rag",
    "ChatGenerator": "rag",
    "LocalGenerator": "rag",
    "RAGPipeline": "rag",
    "ArtifactError": "errors",
    "EntityIndex": "index",
    "GraphBundle": "bundle",
    "GraphRetriever": "retrieval",
    "IndexMismatchError": "errors",
    "InputError": "errors",
    "KglinkError": "errors",
    "KnowledgeGraph": "graph",
    "LateInteractionIndex": "index",
    "LateInteractionModel": "encoder",
    "LinkResult": "results",
    "Match": "results",
    "PassageHit": "results",
    "PassageIndex": "index",
    "ModelLoadError": "errors",
    "SearchResult": "index.tokens",
    "SynonymPair": "results",
    "TrainResult": "training",
    "Trainer": "training",
    "build_graph": "bundle",
    "load_corpus": "corpus",
    "load_openie": "corpus",
    "maxsim": "scores",
    "maxsim_reference": "scores",
}
__all__ = ["__version__", *_WHERE]
_moved.install()


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'kglink' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"kglink.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
