"""The ``kglink`` command line: a thin click layer over the Python API.

Each submodule registers one family of commands on :data:`main`. Heavy imports (torch,
transformers, faiss) happen inside the commands, so ``kglink --help`` stays fast.
"""

from kglink.cli import graphs, retrieval, serve, training  # noqa: F401  (registers the commands)
from kglink.cli._common import main

__all__ = ["main"]
