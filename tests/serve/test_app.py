"""Every endpoint against the library's own answer on the sample graph, and every error code."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import asdict

import pytest

from kglink.retrieval.retriever import GraphRetriever
from kglink.serve import Limits
from kglink.serve.app import link_json

MENTIONS = ["American Psychological Association", "Zimbabwe", "Judith Viorst", "zzzz qqqq", "Brothers Grimm"]
QUESTION = (
    "Who was the first president of the association which published Journal of Psychotherapy Integration?"
)


def run(coro):
    return asyncio.run(coro)


def test_link_equals_the_library(serve, client, sample_dir, library):
    _, app = serve({"kg": sample_dir})

    async def go():
        async with client(app) as c:
            return await c.post("/v1/graphs/kg/link", json={"mentions": MENTIONS, "top_k": 3})

    r = run(go())
    assert r.status_code == 200, r.text
    expected = [link_json(x) for x in library.entities.link(MENTIONS, top_k=3)]
    assert r.json()["results"] == expected
    assert [x["linked"] for x in expected][:4] == [True, True, True, False]
    assert expected[3]["best"] is not None  # the closest one, below the threshold


def test_link_threshold_and_graph_info(serve, client, sample_dir, library):
    _, app = serve({"kg": sample_dir})

    async def go():
        async with client(app) as c:
            link = await c.post("/v1/graphs/kg/link", json={"mentions": ["Zimbabwe"], "threshold": 1.0})
            return link, await c.get("/v1/graphs/kg"), await c.get("/v1/graphs")

    link, info, listing = run(go())
    assert link.json()["results"] == [link_json(library.entities.link(["Zimbabwe"], threshold=1.0)[0])]
    body = info.json()
    assert body["stats"] == library.graph.stats() and body["threshold"] == library.entities.threshold
    assert body["model"] == library.entities.model.name and body["version"]
    assert [g["name"] for g in listing.json()["graphs"]] == ["kg"]


def test_synonyms_equal_the_library(serve, client, sample_dir, library):
    _, app = serve({"kg": sample_dir})

    async def go():
        async with client(app) as c:
            return (
                await c.get("/v1/graphs/kg/synonyms", params={"limit": 10}),
                await c.get("/v1/graphs/kg/synonyms", params={"node": "zimbabwe"}),
            )

    top, node = run(go())
    pairs = sorted(library.graph.synonyms(), key=lambda p: (-p.score, p.source, p.target))
    assert top.json()["synonyms"] == [asdict(p) for p in pairs[:10]]
    mine = sorted(library.graph.synonyms("zimbabwe"), key=lambda p: (-p.score, p.source, p.target))
    assert node.json()["synonyms"] == [asdict(p) for p in mine] and mine


@pytest.mark.parametrize("mode", ["graph", "dense"])
def test_retrieve_equals_the_library(serve, client, sample_dir, library, mode):
    service, app = serve({"kg": sample_dir})

    async def go():
        async with client(app) as c:
            return await c.post(
                "/v1/graphs/kg/retrieve", json={"question": QUESTION, "top_k": 4, "mode": mode}
            )

    r = run(go())
    assert r.status_code == 200, r.text
    retriever = GraphRetriever(library)
    hits = (retriever.retrieve if mode == "graph" else retriever.retrieve_dense)(QUESTION, 4)
    assert r.json()["passages"] == json.loads(json.dumps([asdict(h) for h in hits]))
    assert (mode == "graph") == bool(hits[0].seeds)
    assert service.model.misses == 0  # every encoding came from the batch


def test_health_metrics_and_docs(serve, client, sample_dir):
    _, app = serve({"kg": sample_dir})

    async def go():
        async with client(app) as c:
            await c.post("/v1/graphs/kg/link", json={"mentions": ["Zimbabwe"]})
            return [await c.get(p) for p in ("/livez", "/readyz", "/metrics", "/docs", "/openapi.json")]

    live, ready, metrics, docs, openapi = run(go())
    assert live.json() == {"status": "ok"} and ready.json()["graphs"] == ["kg"]
    text = metrics.text
    for name in (
        "kglink_request_seconds",
        "kglink_queue_depth",
        "kglink_batch_size",
        "kglink_encoded_tokens",
        "kglink_pairs_scored",
        "kglink_writes",
    ):
        assert name in text
    assert 'route="/v1/graphs/{graph}/link"' in text
    assert docs.status_code == 200 and "/v1/graphs/{graph}/link" in openapi.json()["paths"]


KEYS = {"reader": "read", "boss": "admin"}


@pytest.mark.parametrize(
    "headers, path, body, status, code",
    [
        ({}, "/v1/graphs/kg/link", {"mentions": ["x"]}, 401, "unauthorized"),
        ({"Authorization": "Bearer nope"}, "/v1/graphs/kg/link", {"mentions": ["x"]}, 401, "unauthorized"),
        ({"X-API-Key": "reader"}, "/v1/graphs/kg/entities", {"names": ["Foo"]}, 403, "forbidden"),
        ({"X-API-Key": "reader"}, "/v1/graphs/kg/synonyms/decisions", {"reject": []}, 403, "forbidden"),
        ({"X-API-Key": "reader"}, "/v1/graphs/nope/link", {"mentions": ["x"]}, 404, "graph_not_found"),
        ({"X-API-Key": "reader"}, "/v1/graphs/kg/link", {"mentions": "x"}, 422, "invalid_request"),
        (
            {"X-API-Key": "reader"},
            "/v1/graphs/kg/link",
            {"mentions": ["x"], "top_k": 0},
            422,
            "invalid_request",
        ),
        ({"X-API-Key": "reader"}, "/v1/graphs/kg/link", {"mentions": ["x"] * 9}, 422, "invalid_request"),
        ({"X-API-Key": "reader"}, "/v1/graphs/kg/link", {"mentions": ["x" * 50]}, 422, "invalid_request"),
        ({"X-API-Key": "reader"}, "/v1/graphs/kg/link", {"mentions": ["!!!"]}, 400, "bad_input"),
        ({"Authorization": "Bearer boss"}, "/v1/graphs/kg/entities", {"names": [""]}, 400, "bad_input"),
    ],
)
def test_errors_are_json_with_stable_codes(serve, client, sample_dir, headers, path, body, status, code):
    _, app = serve({"kg": sample_dir}, api_keys=KEYS, limits=Limits(max_mentions=8, max_name_chars=40))

    async def go():
        async with client(app, **headers) as c:
            return await c.post(path, json=body)

    r = run(go())
    assert r.status_code == status, r.text
    assert r.json()["code"] == code and r.json()["message"] and "details" in r.json()


def test_body_cap_is_checked_before_the_body_is_read(serve, client, sample_dir):
    _, app = serve({"kg": sample_dir}, limits=Limits(max_body_bytes=1000))
    read = []

    async def body_never_sent():  # an ASGI receive: a 413 must not wait for it
        read.append(1)
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def go():
        sent = []
        headers = [(b"content-length", b"5000000"), (b"content-type", b"application/json")]
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/v1/graphs/kg/link",
            "headers": headers,
            "query_string": b"",
            "root_path": "",
            "scheme": "http",
            "http_version": "1.1",
            "server": ("test", 80),
            "client": ("127.0.0.1", 1),
        }

        async def send(message):
            sent.append(message)

        await app(scope, body_never_sent, send)

        async def parts():
            for part in (b'{"mentions": ["', b"x" * 2000, b'"]}'):
                yield part

        async with client(app) as c:  # and a chunked body (no length) over the cap
            chunked = await c.post("/v1/graphs/kg/link", content=parts())
        return sent, chunked

    sent, chunked = run(go())
    assert sent[0]["status"] == 413 and not read
    assert b"body_too_large" in sent[1]["body"]
    assert chunked.status_code == 413 and chunked.json()["code"] == "body_too_large"


def test_full_queue_answers_429_with_retry_after(serve, client, sample_dir):
    service, app = serve({"kg": sample_dir}, max_queue=1, max_wait_ms=0)
    gate = threading.Event()
    service.batcher.submit([], gate.wait)  # holds the worker
    deadline = time.monotonic() + 10
    while service.batcher.depth and time.monotonic() < deadline:
        time.sleep(0.01)
    service.batcher.submit([], lambda: None)  # fills the queue of one

    async def go():
        async with client(app) as c:
            return await c.post("/v1/graphs/kg/link", json={"mentions": ["Zimbabwe"]})

    try:
        r = run(go())
    finally:
        gate.set()
    assert r.status_code == 429 and r.headers["retry-after"] == "1" and r.json()["code"] == "queue_full"
