"""kglink: entity linking and knowledge-graph synonymy with late interaction.

The public nouns, imported flat::

    from kglink import LateInteractionModel, LateInteractionIndex, EntityIndex, KnowledgeGraph

Names are imported on first use, so ``import kglink`` (and ``kglink --help``)
does not load torch.
"""

from __future__ import annotations

import importlib

from kglink._version import __version__

_WHERE = {
    "Answer": "rag",
    "ChatGenerator": "rag",
    "LocalGenerator": "rag",
    "RAGPipeline": "rag",
    "ArtifactError": "errors",
    "EntityIndex": "entities",
    "GraphBundle": "builder",
    "GraphRetriever": "retriever",
    "IndexMismatchError": "errors",
    "InputError": "errors",
    "KglinkError": "errors",
    "KnowledgeGraph": "graph",
    "LateInteractionIndex": "index",
    "LateInteractionModel": "model",
    "LinkResult": "results",
    "Match": "results",
    "PassageHit": "retriever",
    "PassageIndex": "passages",
    "ModelLoadError": "errors",
    "SearchResult": "results",
    "SynonymPair": "results",
    "TrainResult": "training",
    "Trainer": "training",
    "build_graph": "builder",
    "load_corpus": "openie",
    "load_openie": "openie",
    "maxsim": "scores",
    "maxsim_reference": "scores",
}
__all__ = ["__version__", *_WHERE]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'kglink' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"kglink.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
