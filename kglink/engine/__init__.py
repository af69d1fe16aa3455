"""Where a graph build's heavy stages run: in this process (``"local"``) or on a Ray cluster.

``kglink build --engine ray`` (:func:`kglink.bundle.build_graph` with ``engine="ray"`` or
a :class:`~kglink.engine.ray.RayEngine`) encodes the entity names and searches their
synonym candidates as Ray Data ``map_batches`` over blocks of names, in actors that
hold the model and the document token store, and writes the same graph as the local
build. Ray is the optional extra ``kglink[ray]``; only :mod:`kglink.engine.ray` imports it.
"""

from __future__ import annotations

from kglink.engine.ray import RayEngine

ENGINES = ("local", "ray")

__all__ = ["ENGINES", "RayEngine"]
