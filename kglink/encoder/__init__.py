"""The encoder: a late-interaction (ColBERT) model loaded from its checkpoint's own files.

- :mod:`~kglink.encoder.checkpoint` reads Stanford ColBERT, PyLate and plain transformers
  folders (markers, lengths, ``[MASK]`` expansion, skiplist, projection) and writes the
  PyLate layout; it is the one module that loads weights with ``transformers``.
- :mod:`~kglink.encoder.model` turns text into L2-normalised token matrices
  (:class:`LateInteractionModel`).
"""

from kglink.encoder.model import LateInteractionModel

__all__ = ["LateInteractionModel"]
