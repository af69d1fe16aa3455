"""kglink: entity linking and knowledge-graph synonymy with late interaction."""

from kglink._version import __version__
from kglink.model import LateInteractionModel

__all__ = ["LateInteractionModel", "__version__"]
