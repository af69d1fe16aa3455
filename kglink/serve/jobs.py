"""Background jobs (``POST /v1/graphs/{g}/passages``): queued, run one at a time, looked up by id.

A job is ``queued`` until the job thread takes it, ``running`` while it works, then
``done`` with its result counts or ``failed`` with a JSON error (the same ``code`` and
``message`` a request would have answered). Jobs live in memory: a restart forgets them
(their writes, once done, are in the graph folder like any other).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from kglink.errors import KglinkError
from kglink.serve.errors import ApiError, from_library

logger = logging.getLogger(__name__)

STATES = ("queued", "running", "done", "failed")


@dataclass
class Job:
    """One background job; :meth:`json` is what ``GET /v1/jobs/{id}`` answers."""

    id: str
    kind: str
    graph: str
    size: int
    state: str = "queued"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    result: dict | None = None
    error: dict | None = None

    def json(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "graph": self.graph,
            "size": self.size,
            "state": self.state,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "result": self.result,
            "error": self.error,
        }


class Jobs:
    """The jobs of one server: one worker thread runs them in the order they came."""

    def __init__(self, max_kept: int = 1000) -> None:
        self.max_kept = max_kept
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kglink-jobs")

    def start(self, kind: str, graph: str, size: int, run: Callable[[Job], dict]) -> Job:
        """Queue ``run(job)``; its return value becomes the job's result."""
        job = Job(uuid.uuid4().hex, kind, graph, size)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self.max_kept:  # forget the oldest finished ones
                old = next((j for j in self._jobs.values() if j.finished is not None), None)
                if old is None:
                    break
                del self._jobs[old.id]
        self._pool.submit(self._run, job, run)
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise ApiError(404, "job_not_found", f"no job {job_id!r}; jobs are forgotten at a restart")
        return job

    @property
    def active(self) -> int:
        with self._lock:
            return sum(j.state in ("queued", "running") for j in self._jobs.values())

    def close(self) -> None:
        """Finish the running job; the queued ones fail as cancelled."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for job in self._jobs.values():
                if job.state == "queued":
                    job.state, job.finished = "failed", time.time()
                    job.error = _error(ApiError(503, "shutting_down", "the server stopped first; resend"))

    def _run(self, job: Job, run: Callable[[Job], Any]) -> None:
        job.state, job.started = "running", time.time()
        try:
            result = run(job)
        except Exception as e:  # the job's failure is its answer, not the server's
            if not isinstance(e, (ApiError, KglinkError)):
                logger.exception("job %s (%s on %s) failed", job.id, job.kind, job.graph)
            job.error, job.finished = _error(e), time.time()
            job.state = "failed"  # last: a reader that sees the state sees the rest
            return
        job.result, job.finished = result, time.time()
        job.state = "done"


def _error(e: Exception) -> dict:
    if isinstance(e, KglinkError):
        e = from_library(e)
    if isinstance(e, ApiError):
        return {"status": e.status, "code": e.code, "message": e.message, "details": e.details}
    message = f"unexpected {type(e).__name__}: {e}"
    return {"status": 500, "code": "internal", "message": message, "details": None}
