"""The module paths of kglink 0.1, which still import: each names the module that now holds its code.

``from kglink.retriever import GraphRetriever`` keeps working (with a
:class:`DeprecationWarning`) although the code lives in :mod:`kglink.retrieval.retriever`;
names that were renamed are listed in :data:`RENAMED`. A path that is now a package of
its own (``kglink.index``, ``kglink.graph``, ``kglink.corpus``) needs no entry: the
package exports what the module did.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

MOVED = {
    "kglink.aliases": "kglink.synonymy.aliases",
    "kglink.builder": "kglink.bundle",
    "kglink.checkpoint": "kglink.encoder.checkpoint",
    "kglink.entities": "kglink.index.entities",
    "kglink.evaluate": "kglink.retrieval.evaluate",
    "kglink.extract": "kglink.retrieval.mentions",
    "kglink.ie.store": "kglink.corpus.openie",
    "kglink.ingest": "kglink.bundle",
    "kglink.io": "kglink.artifacts",
    "kglink.llm": "kglink.chat",
    "kglink.model": "kglink.encoder.model",
    "kglink.openie": "kglink.corpus",
    "kglink.passages": "kglink.index.passages",
    "kglink.retriever": "kglink.retrieval.retriever",
    "kglink.synonym_eval": "kglink.synonymy.evaluate",
    "kglink.synsets": "kglink.synonymy.groups",
    "kglink.tfidf": "kglink.synonymy.tfidf",
}
RENAMED = {("kglink.extract", "NgramExtractor"): "NgramMentions"}


class _OldPath(types.ModuleType):
    """Stands at an old module path; every attribute is read from the module that replaced it."""

    def __getattr__(self, name: str):
        target = importlib.import_module(MOVED[self.__name__])
        return getattr(target, RENAMED.get((self.__name__, name), name))

    def __dir__(self) -> list[str]:
        return dir(importlib.import_module(MOVED[self.__name__]))


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        return importlib.util.spec_from_loader(fullname, self) if fullname in MOVED else None

    def create_module(self, spec):
        warnings.warn(
            f"{spec.name} moved to {MOVED[spec.name]}; import it from there (or from kglink)",
            DeprecationWarning,
            stacklevel=3,
        )
        return _OldPath(spec.name)

    def exec_module(self, module) -> None:
        pass


def install() -> None:
    """Make the old paths importable (called once by ``kglink/__init__``)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
