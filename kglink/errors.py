"""The exceptions kglink raises.

Every error derives from :class:`KglinkError`, so callers can catch one type.
Messages name the problem and say what to do about it.
"""

from __future__ import annotations


class KglinkError(Exception):
    """Base class of every error kglink raises on purpose."""


class InputError(KglinkError, ValueError):
    """An argument or a record in an input file is not usable as given."""


class ModelLoadError(KglinkError):
    """A checkpoint folder or hub id could not be loaded as a late-interaction model."""


class IndexMismatchError(KglinkError):
    """A saved index was built with another model or embedding dimension."""


class ArtifactError(KglinkError):
    """A saved graph or index folder is missing, incomplete or corrupt."""


class LLMError(KglinkError):
    """A chat endpoint failed, refused the request or replied with something unusable."""


class LLMUnavailableError(LLMError):
    """The chat endpoint could not be reached at all (nothing listening, DNS failure)."""
