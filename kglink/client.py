"""A Python client for ``kglink serve``, returning the library's own records.

Switching between in-process and remote is one argument: ``Client(url).link(graph,
mentions)`` gives the same :class:`~kglink.results.LinkResult` list as
``bundle.entities.link(mentions)``. A server's error becomes a :class:`ServerError`
carrying its status, code and message. Needs ``httpx`` (``kglink[serve]``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from kglink.errors import KglinkError
from kglink.results import LinkResult, Match, PassageHit, Seed, SynonymPair


class ServerError(KglinkError):
    """A non-2xx answer: ``status``, the stable ``code``, the server's ``message`` and ``details``."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{message} (HTTP {status}, {code})")
        self.status, self.code, self.message, self.details = status, code, message, details


class Client:
    """Talk to a ``kglink serve`` at ``url`` with an optional ``api_key`` (sent as a Bearer token).

    ``transport`` is an ``httpx`` transport (an in-process ASGI app in tests); use the client
    as a context manager or :meth:`close` it.
    """

    def __init__(
        self, url: str, api_key: str | None = None, *, timeout: float = 60.0, transport=None
    ) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def graphs(self) -> list[dict]:
        return self._call("GET", "/v1/graphs")["graphs"]

    def info(self, graph: str) -> dict:
        return self._call("GET", f"/v1/graphs/{graph}")

    def link(
        self, graph: str, mentions: Sequence[str], top_k: int = 5, threshold: float | None = None
    ) -> list[LinkResult]:
        body = {"mentions": list(mentions), "top_k": top_k, "threshold": threshold}
        return [_link_result(r) for r in self._call("POST", f"/v1/graphs/{graph}/link", body)["results"]]

    def add_entities(self, graph: str, names: Sequence[str]) -> tuple[list[str], list[SynonymPair]]:
        """Add names; returns the new node names and the synonym edges made for them."""
        out = self._call("POST", f"/v1/graphs/{graph}/entities", {"names": list(names)})
        return out["added"], [SynonymPair(**p) for p in out["synonyms"]]

    def remove_entities(self, graph: str, ids: Sequence[str]) -> dict:
        """Remove entity nodes (:meth:`kglink.GraphBundle.remove_entities`'s record, plus ``version``)."""
        return self._call("DELETE", f"/v1/graphs/{graph}/entities", {"ids": list(ids)})

    def merge_entities(self, graph: str, ids: Sequence[str], into: str) -> dict:
        """Merge entity nodes into ``into`` (:meth:`kglink.GraphBundle.merge_entities`'s record)."""
        return self._call("POST", f"/v1/graphs/{graph}/entities/merge", {"ids": list(ids), "into": into})

    def add_passages(self, graph: str, passages: Sequence, wait: bool = True, timeout: float = 600.0) -> dict:
        """Ingest passages (:class:`~kglink.corpus.Passage` or ``(title, text)``) as a background job.

        Returns the finished job (its ``result`` holds the counts), or with ``wait=False`` the
        job as queued, to follow with :meth:`job`. A failed job raises :class:`ServerError`.
        """
        records = [
            {"title": p.title, "text": p.text} if hasattr(p, "text") else {"title": p[0], "text": p[1]}
            for p in passages
        ]
        job = self._call("POST", f"/v1/graphs/{graph}/passages", {"passages": records})
        return self.wait(job["id"], timeout) if wait else job

    def job(self, job_id: str) -> dict:
        """A background job's state (queued, running, done, failed), result and error."""
        return self._call("GET", f"/v1/jobs/{job_id}")

    def wait(self, job_id: str, timeout: float = 600.0, poll_s: float = 0.2) -> dict:
        """Poll the job until it is done (returned) or failed (:class:`ServerError`)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["state"] == "done":
                return job
            if job["state"] == "failed":
                err = job["error"] or {}
                status, code = err.get("status", 500), err.get("code", "?")
                raise ServerError(status, code, err.get("message", ""), err.get("details"))
            if time.monotonic() > deadline:
                raise ServerError(
                    408,
                    "job_timeout",
                    f"job {job_id} still {job['state']} after {timeout:g} s; "
                    "call wait() again or raise the timeout",
                )
            time.sleep(poll_s)

    def synonyms(self, graph: str, node: str | None = None, limit: int | None = None) -> list[SynonymPair]:
        params = {k: v for k, v in (("node", node), ("limit", limit)) if v is not None}
        out = self._call("GET", f"/v1/graphs/{graph}/synonyms", params=params)
        return [SynonymPair(**p) for p in out["synonyms"]]

    def decide(self, graph: str, accept: Sequence = (), reject: Sequence = ()) -> dict:
        body = {"accept": [list(p) for p in accept], "reject": [list(p) for p in reject]}
        return self._call("POST", f"/v1/graphs/{graph}/synonyms/decisions", body)

    def retrieve(self, graph: str, question: str, top_k: int = 5, mode: str = "graph") -> list[PassageHit]:
        body = {"question": question, "top_k": top_k, "mode": mode}
        return [_hit(h) for h in self._call("POST", f"/v1/graphs/{graph}/retrieve", body)["passages"]]

    def ask(self, graph: str, question: str, top_k: int = 5):
        """The RAG answer, as :class:`kglink.rag.Answer` (the server needs a generator)."""
        from kglink.rag.pipeline import Answer

        out = self._call("POST", f"/v1/graphs/{graph}/ask", {"question": question, "top_k": top_k})
        seeds = tuple(Seed(**s) for s in out["seeds"])
        return Answer(
            out["question"], out["answer"], tuple(map(_hit, out["passages"])), seeds, tuple(out["cited"])
        )

    def _call(self, method: str, path: str, body: dict | None = None, params: dict | None = None) -> Any:
        response = self._http.request(method, path, json=body, params=params)
        if response.is_success:
            return response.json()
        try:
            err = response.json()
        except ValueError:
            err = {"code": "http_error", "message": response.text[:200]}
        raise ServerError(
            response.status_code, err.get("code", "?"), err.get("message", ""), err.get("details")
        )


def _match(m: dict | None) -> Match | None:
    return Match(m["node_id"], m["name"], m["score"]) if m else None


def _link_result(r: dict) -> LinkResult:
    return LinkResult(r["mention"], tuple(_match(m) for m in r["matches"]), _match(r["best"]))


def _hit(h: dict) -> PassageHit:
    return PassageHit(**{**h, "seeds": tuple(Seed(**s) for s in h["seeds"])})
