"""``kglink serve``: entity linking, synonymy and retrieval over HTTP (extra ``kglink[serve]``).

- :mod:`~kglink.serve.service`: :class:`Service`, the model, batcher and graphs one server holds;
- :mod:`~kglink.serve.app`: :func:`create_app`, the FastAPI routes under ``/v1``;
- :mod:`~kglink.serve.batching`: concurrent requests encoded in one forward pass;
- :mod:`~kglink.serve.store`: snapshots for readers, one writer, atomic saves;
- :mod:`~kglink.serve.writes`: the writes, as the library computes them;
- :mod:`~kglink.serve.auth`, :mod:`~kglink.serve.limits`, :mod:`~kglink.serve.errors`,
  :mod:`~kglink.serve.metrics`, :mod:`~kglink.serve.schemas`, :mod:`~kglink.serve.ask`.

FastAPI is imported only here, so ``import kglink`` never needs it.
"""

from kglink.serve.app import create_app
from kglink.serve.service import Limits, Service

__all__ = ["Limits", "Service", "create_app"]
