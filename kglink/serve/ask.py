"""``/ask``: the RAG answer with its citations, as one JSON object or as server-sent events.

The stream sends ``passages`` (what the answer will be grounded on, as soon as they are
retrieved), then ``answer`` (the text and the passages it cites), then ``done``.
Generation runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from kglink.serve.errors import ApiError
from kglink.serve.service import Service


def answer_json(answer) -> dict:
    return {
        "question": answer.question,
        "answer": answer.answer,
        "cited": list(answer.cited),
        "passages": [asdict(h) for h in answer.passages],
        "seeds": [asdict(s) for s in answer.seeds],
    }


async def answer(service: Service, graph: str, question: str, top_k: int, stream: bool):
    from kglink.rag import RAGPipeline
    from kglink.rag.prompt import parse_citations

    if service.generator is None:
        raise ApiError(409, "no_generator", "this server has no generator; start it with --generator")
    snap = service.store(graph).snapshot
    if snap.bundle.passages is None:
        raise ApiError(409, "no_passage_index", "this graph has no passage index; rebuild with --passages")
    pipeline = RAGPipeline(snap.retriever(), service.generator)
    hits = await service.read([question], lambda: pipeline.retriever.retrieve(question, top_k))

    def generate():
        reply = service.generator.generate(pipeline.messages(question, hits), max_new_tokens=128)
        return reply, parse_citations(reply, len(hits))

    if not stream:
        from kglink.rag.pipeline import Answer

        reply, cited = await run_in_threadpool(generate)
        return answer_json(Answer(question, reply, tuple(hits), hits[0].seeds if hits else (), cited))

    async def events():
        yield _event("passages", {"passages": [asdict(h) for h in hits]})
        reply, cited = await run_in_threadpool(generate)
        yield _event("answer", {"answer": reply, "cited": list(cited)})
        yield _event("done", {})

    return StreamingResponse(events(), media_type="text/event-stream")


def _event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
