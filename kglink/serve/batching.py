"""Requests from many clients encoded together: one bounded queue, one worker, one forward pass a batch.

Each job names the texts it will encode and a function that does its work with the
library (``EntityIndex.link``, ``GraphRetriever.retrieve``). The worker takes the first
waiting job, then more until the batch holds ``token_budget`` tokens or ``max_wait_ms``
have passed, encodes all their texts in one call of the model, and runs each job with
those encodings at hand: :class:`BatchedModel` answers the library's encode calls from
them, so every job computes exactly what the Python API computes, only its encodings
come from a shared forward pass. The model never runs on the event loop, and a full
queue refuses (:class:`QueueFull`, the server's 429) instead of growing.

Writers encode through the same worker (:meth:`Batcher.encode`), so one thread at a time
drives the model and its tokenizer.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from kglink.encoder import LateInteractionModel

logger = logging.getLogger(__name__)


class QueueFull(Exception):
    """The batching queue holds as many jobs as it may; the caller should retry later."""


@dataclass(frozen=True)
class Group:
    """Jobs of one batch with the same ``key`` run as one call: ``run(inputs)`` -> one answer an input.

    ``/link`` calls with one graph snapshot, ``top_k`` and threshold are one
    ``EntityIndex.link`` over all their mentions, whose answers are per mention (each
    mention's computation is its own), so each job gets what it would alone. At 32
    clients this took the MuSiQue server from 226 to 262 requests a second.
    """

    key: Hashable
    run: Callable[[list[Any]], list[Any]]


@dataclass
class Job:
    """Texts to encode (both sides) and the work to run once they are.

    With ``group``, the job's ``input`` runs with the other jobs of its group in the
    batch (:class:`Group`); if that call fails, each job runs alone (``run``) and meets
    its own error.
    """

    texts: Sequence[str]
    run: Callable[[], Any]
    future: Future = field(default_factory=Future)
    tokens: int = 0
    group: Group | None = None
    input: Any = None


class BatchedModel(LateInteractionModel):
    """The server's model: the library's encode calls answered from the current batch's encodings.

    Made from a loaded model (:meth:`wrap`), it shares that model's weights. In the
    worker thread, during a batch, a text the batch encoded is not encoded again; anything
    else (a writer's names, a text no job announced) is encoded as usual, the tokenizer
    guarded by a lock so that two threads never use it at once.
    """

    @classmethod
    def wrap(cls, model: LateInteractionModel) -> BatchedModel:
        new = cls.__new__(cls)
        new.__dict__.update(model.__dict__)
        new._memo = threading.local()
        new._tokenizer_lock = threading.RLock()
        new.misses = 0  # encode calls in a batch that the batch had not encoded
        return new

    def encoded(self) -> dict[tuple[str, bool], Any] | None:
        return getattr(self._memo, "found", None)

    def _encode(self, texts, sides, batch_size, progress):
        batcher = getattr(self, "batcher", None)
        if batcher is not None and threading.current_thread() is not batcher.thread:
            return batcher.encode(texts, sides)  # a writer's names: encoded on the worker too
        found = self.encoded()
        if found is not None:
            texts = list(texts)
            if all((t, s) in found for t in texts for s in sides):
                return [[found[t, s] for t in texts] for s in sides]
            self.misses += 1
        return super()._encode(texts, sides, batch_size, progress)

    def _tokenize(self, texts, is_query):
        with self._tokenizer_lock:
            return super()._tokenize(texts, is_query)

    def token_lengths(self, texts, is_query):
        known = getattr(self._memo, "lengths", None) or {}  # counted for the batch (Batcher._tokens)
        texts = list(texts)
        if is_query and all(t in known for t in texts):
            return [known[t] for t in texts]
        with self._tokenizer_lock:
            return super().token_lengths(texts, is_query)

    def encode_batch(self, texts: list[str]) -> dict[tuple[str, bool], Any]:
        """Both sides of every text, in one forward pass when the two sides share inputs."""
        if not texts:
            return {}
        if self.shares_encodings:
            queries, docs = super()._encode(texts, (True, False), max(64, len(texts)), False)
        else:
            queries = super()._encode(texts, (True,), max(64, len(texts)), False)[0]
            docs = super()._encode(texts, (False,), max(64, len(texts)), False)[0]
        found = {(t, True): q for t, q in zip(texts, queries)}
        found.update(((t, False), d) for t, d in zip(texts, docs))
        return found


class Batcher:
    """One bounded queue of jobs and the worker thread that encodes and runs them in batches.

    Parameters
    ----------
    model
        The server's :class:`BatchedModel`.
    max_queue
        Jobs that may wait; one more raises :class:`QueueFull`.
    token_budget
        A batch stops growing at this many tokens (query side).
    max_wait_ms
        ... or this long after its first job was taken.
    enabled
        ``False``: every job is its own batch (the benchmark's comparison).
    """

    def __init__(
        self,
        model: BatchedModel,
        *,
        max_queue: int = 256,
        token_budget: int = 4096,
        max_wait_ms: float = 5.0,
        enabled: bool = True,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        self.model, self.enabled = model, enabled
        self.token_budget, self.max_wait = token_budget, max_wait_ms / 1000
        self._queue: queue.Queue[Job | None] = queue.Queue(max_queue)
        self._on_batch = on_batch or (lambda jobs, tokens: None)
        self._lengths: dict[str, int] = {}  # query-side token counts of the batch being filled
        self.thread = threading.Thread(target=self._loop, name="kglink-batcher", daemon=True)
        model.batcher = self
        self.thread.start()

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def submit(
        self, texts: Sequence[str], run: Callable[[], Any], group: Group | None = None, input: Any = None
    ) -> Future:
        """Queue a job; raises :class:`QueueFull` when the queue is full."""
        job = Job(list(texts), run, group=group, input=input)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise QueueFull from None
        return job.future

    def encode(self, texts: Sequence[str], sides: tuple[bool, ...]) -> list:
        """Encode on the worker (for writers: it waits for room, never refuses)."""
        texts = list(texts)
        job = Job([], lambda: LateInteractionModel._encode(self.model, texts, sides, 64, False))
        self._queue.put(job)
        return job.future.result()

    def close(self, timeout: float = 30.0) -> None:
        """Finish every queued job, then stop the worker."""
        self._queue.put(None)
        self.thread.join(timeout)
        self.model.batcher = None

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._fill(first)
            self._run(batch)
            if stop:
                return

    def _fill(self, first: Job) -> tuple[list[Job], bool]:
        """The first job and those that fit beside it; ``True`` when the stop sign came."""
        batch, tokens = [first], self._tokens(first)
        deadline = time.monotonic() + self.max_wait
        while self.enabled and tokens < self.token_budget:
            try:
                job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if job is None:
                return batch, True
            batch.append(job)
            tokens += self._tokens(job)
        return batch, False

    def _tokens(self, job: Job) -> int:
        """The job's query tokens, remembered for the batch: links check the same lengths again."""
        lengths = self.model.token_lengths(job.texts, True) if job.texts else []
        self._lengths.update(zip(job.texts, lengths))
        job.tokens = sum(lengths)
        return job.tokens

    def _run(self, batch: list[Job]) -> None:
        texts = list(dict.fromkeys(t for job in batch for t in job.texts))
        try:
            found = self.model.encode_batch(texts)
        except Exception as e:  # a text the model refuses: each job then meets it on its own
            logger.debug("batch encoding failed (%r); jobs encode alone", e)
            found = {}
        self._on_batch(len(batch), sum(job.tokens for job in batch))
        self.model._memo.found, self.model._memo.lengths = found, self._lengths
        try:
            live = [job for job in batch if job.future.set_running_or_notify_cancel()]
            groups: dict[Hashable, list[Job]] = {}
            for job in live:
                groups.setdefault(job.group.key if job.group else id(job), []).append(job)
            for jobs in groups.values():
                self._run_group(jobs)
        finally:
            self.model._memo.found = self.model._memo.lengths = None
            self._lengths = {}

    @staticmethod
    def _run_group(jobs: list[Job]) -> None:
        if len(jobs) > 1:
            try:
                answers = jobs[0].group.run([job.input for job in jobs])
            except Exception as e:  # a bad input among them: each job alone meets its own error
                logger.debug("grouped run failed (%r); jobs run alone", e)
            else:
                for job, answer in zip(jobs, answers, strict=True):
                    job.future.set_result(answer)
                return
        for job in jobs:
            try:
                job.future.set_result(job.run())
            except BaseException as e:  # handed to the waiting request
                job.future.set_exception(e)
