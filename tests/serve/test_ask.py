"""``POST /v1/graphs/{g}/ask``, JSON and server-sent events, against the library's RAGPipeline.

The generator is a real :class:`ChatGenerator` talking HTTP to a real local server that
answers with a canned OpenAI reply (:class:`FakeServer`); the prompt it receives from the
server must be the one the library sends.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict

import pytest
from llm_servers import FakeServer, completion

from kglink.rag import ChatGenerator, RAGPipeline
from kglink.retrieval.retriever import GraphRetriever
from kglink.serve.ask import answer_json

QUESTION = (
    "Who was the first president of the association which published Journal of Psychotherapy Integration?"
)
REPLY = (
    "The American Psychological Association published it [2]; its first president was G. Stanley Hall [1]."
)


@pytest.fixture
def llm():
    server = FakeServer(lambda body: (200, completion(REPLY), 0.0))
    yield server
    server.close()


def _json(value):
    """As it comes back over HTTP (tuples become lists)."""
    return json.loads(json.dumps(value))


def _events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in filter(None, text.split("\n\n")):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_ask_json_and_stream_equal_the_pipeline(serve, client, sample_dir, library, llm):
    generator = ChatGenerator(llm.url, "canned", max_retries=0)
    _, app = serve({"kg": sample_dir}, generator=generator)

    async def go():
        async with client(app) as c:
            body = {"question": QUESTION, "top_k": 3}
            plain = await c.post("/v1/graphs/kg/ask", json=body)
            streamed = await c.post("/v1/graphs/kg/ask", json={**body, "stream": True})
            return plain, streamed

    plain, streamed = asyncio.run(go())
    assert plain.status_code == 200, plain.text
    expected = RAGPipeline(GraphRetriever(library), generator).ask(QUESTION, top_k=3)
    assert len(llm.requests) == 3
    assert llm.requests[0]["messages"] == llm.requests[1]["messages"] == llm.requests[2]["messages"]
    assert plain.json() == _json(answer_json(expected))
    assert expected.answer == REPLY and expected.cited == (2, 1) and len(expected.passages) == 3
    assert streamed.headers["content-type"].startswith("text/event-stream")
    events = _events(streamed.text)
    assert [name for name, _ in events] == ["passages", "answer", "done"]
    assert events[0][1] == _json({"passages": [asdict(h) for h in expected.passages]})
    assert events[1][1] == {"answer": REPLY, "cited": [2, 1]}


def test_ask_without_a_generator_or_with_a_failing_one(serve, client, sample_dir):
    failing = FakeServer(lambda body: (500, {"error": "down"}, 0.0))
    try:
        _, bare = serve({"kg": sample_dir})
        _, broken = serve({"kg": sample_dir}, generator=ChatGenerator(failing.url, "x", max_retries=0))

        async def go():
            body = {"question": QUESTION}
            async with client(bare) as c:
                none = await c.post("/v1/graphs/kg/ask", json=body)
            async with client(broken) as c:
                down = await c.post("/v1/graphs/kg/ask", json=body)
            return none, down

        none, down = asyncio.run(go())
    finally:
        failing.close()
    assert (none.status_code, none.json()["code"]) == (409, "no_generator")
    assert down.status_code >= 500 and set(down.json()) == {"code", "message", "details"}
