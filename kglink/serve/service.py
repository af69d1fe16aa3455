"""What one server holds: the model, the batcher, the graphs by name, the keys and the limits.

Routes (:mod:`kglink.serve.app`) ask it for a graph, hand it reads (run by the batcher on
the graph's current snapshot) and writes (run by the graph's writer), and wait for them
on the event loop without blocking it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from kglink.encoder import LateInteractionModel
from kglink.serve.batching import BatchedModel, Batcher, Group, QueueFull
from kglink.serve.errors import ApiError
from kglink.serve.jobs import Jobs
from kglink.serve.metrics import Metrics
from kglink.serve.store import GraphStore, Write

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Caps checked before any work: body bytes, mentions or names a request, characters a name,
    passages a job and characters a passage."""

    max_body_bytes: int = 10 * 1024 * 1024
    max_mentions: int = 256
    max_name_chars: int = 300
    max_question_chars: int = 2000
    max_passages: int = 64  # per /passages job
    max_passage_chars: int = 20_000
    request_timeout_s: float = 30.0


def _settle(then: Callable[[int], None] = lambda n: None, writes: int = 0) -> None:
    """Collect garbage now, then keep what is loaded out of Python's cyclic collector.

    A loaded graph is half a million objects (MuSiQue's), which a full collection walks
    for 0.2 s holding the GIL, so every read waits; it came at random and made the tail
    of /link. Frozen, they are skipped. Once after each write (the old snapshot's cycles
    freed) instead of at random; ``then(writes)`` follows.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    then(writes)


class Service:
    """The loaded server: build it in the app's lifespan (:meth:`start`), close it at shutdown."""

    def __init__(
        self,
        graphs: Mapping[str, str | os.PathLike],
        *,
        model: LateInteractionModel | str | None = None,
        api_keys: Mapping[str, str] | None = None,
        limits: Limits = Limits(),
        batching: bool = True,
        max_queue: int = 256,
        token_budget: int = 4096,
        max_wait_ms: float = 5.0,
        generator: Any = None,
        extractor: Any = None,
    ) -> None:
        self.graph_dirs, self.model_spec = dict(graphs), model
        self.keys, self.limits = dict(api_keys or {}), limits
        self.batch_options = {
            "max_queue": max_queue,
            "token_budget": token_budget,
            "max_wait_ms": max_wait_ms,
        }
        self.batching, self.generator, self.extractor = batching, generator, extractor
        self.jobs = Jobs()
        self.metrics = Metrics()
        self.stores: dict[str, GraphStore] = {}
        self.batcher: Batcher | None = None
        self.ready = self.closing = False

    def start(self) -> None:
        """Load the model once and every graph with it (no re-encoding), start the worker and writers."""
        model = self.model_spec
        if model is None and self.graph_dirs:  # the model the first graph was built with
            from kglink.artifacts import read_config
            from kglink.bundle import ENTITIES_DIR
            from kglink.index.entities import ENTITY_CONFIG

            folder = os.path.join(next(iter(self.graph_dirs.values())), ENTITIES_DIR, "config.json")
            model = read_config(folder, "entity_index", ENTITY_CONFIG)["model"]
        if not isinstance(model, LateInteractionModel):
            model = LateInteractionModel.from_pretrained(model, show_progress=False)
        self.model = BatchedModel.wrap(model)
        options = {**self.batch_options, "enabled": self.batching, "on_batch": self.metrics.on_batch}
        self.batcher = Batcher(self.model, **options)
        for name, folder in self.graph_dirs.items():
            counter = self.metrics.writes.labels(name)
            self.stores[name] = GraphStore(name, folder, self.model, on_commit=partial(_settle, counter.inc))
            logger.info("serving %s from %s", name, folder)
        _settle()
        self.ready = True

    def close(self) -> None:
        """Finish the writes in progress and queued, then the queued reads; stop the threads."""
        self.closing = True
        self.jobs.close()  # the running job's write goes to its writer before the writers stop
        for store in self.stores.values():
            store.close()
        if self.batcher is not None:
            self.batcher.close()
        self.ready = False

    def store(self, name: str) -> GraphStore:
        if not self.ready:
            raise ApiError(503, "not_ready", "the server is still loading its graphs; retry in a moment")
        store = self.stores.get(name)
        if store is None:
            raise ApiError(
                404,
                "graph_not_found",
                f"no graph named {name!r}; GET /v1/graphs lists them",
                {"graphs": sorted(self.stores)},
            )
        return store

    async def read(
        self, texts: list[str], run: Callable[[], Any], group: Group | None = None, input: Any = None
    ) -> Any:
        """Run ``run`` on the batching worker once ``texts`` are encoded with the rest of its batch.

        With ``group``, ``input`` runs together with the batch's other inputs of that group
        (:class:`~kglink.serve.batching.Group`), ``run`` being the same work alone.
        """
        if self.closing:
            raise ApiError(503, "shutting_down", "the server is shutting down; retry on another instance")
        try:
            future = self.batcher.submit(texts, run, group, input)
        except QueueFull:
            self.metrics.rejected.inc()
            raise ApiError(
                429,
                "queue_full",
                "the server is busy; retry after the delay in Retry-After",
                {"queue": self.batcher.depth},
                {"Retry-After": "1"},
            ) from None
        self.metrics.queue_depth.set(self.batcher.depth)
        return await self._wait(future)

    async def write(self, name: str, write: Write, changes: frozenset[str] = frozenset()) -> Any:
        """Queue a write on graph ``name``; the answer comes once it is saved and published.

        ``changes``: the parts besides graph and entities it changes (:meth:`GraphStore.submit`).
        """
        if self.closing:
            raise ApiError(503, "shutting_down", "the server is shutting down; send the write again later")
        return await self._wait(self.store(name).submit(write, changes))

    async def _wait(self, future) -> Any:
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.limits.request_timeout_s)
        except asyncio.TimeoutError:
            raise ApiError(
                503,
                "timeout",
                f"no answer within {self.limits.request_timeout_s:g} s; retry, or send fewer mentions",
            ) from None
