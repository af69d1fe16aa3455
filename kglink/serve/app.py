"""The HTTP routes of ``kglink serve`` (FastAPI; OpenAPI docs at ``/docs``).

Each route checks the caller's key and the caps, then calls the library on the graph's
snapshot (reads, through the batcher) or queues a write (through the graph's writer),
and answers with the library's records as JSON.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import asdict
from functools import partial

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import PlainTextResponse

from kglink._version import __version__
from kglink.bundle import FACTS_DIR
from kglink.checks import check_text
from kglink.results import LinkResult, PassageHit
from kglink.retrieval.mentions import NgramMentions
from kglink.serve import errors
from kglink.serve.auth import check_scope
from kglink.serve.batching import Group
from kglink.serve.errors import ApiError
from kglink.serve.explorer import add_explorer
from kglink.serve.limits import BodyLimit, RouteMetrics
from kglink.serve.schemas import (
    AskRequest,
    DecisionsRequest,
    EntitiesRequest,
    LinkRequest,
    MergeRequest,
    PassagesRequest,
    RemoveRequest,
    RetrieveRequest,
)
from kglink.serve.service import Service
from kglink.serve.writes import add_entities, decide, merge_entities, remove_entities
from kglink.text import normalize_name


def create_app(service: Service) -> FastAPI:
    """The app over ``service``; the lifespan loads it at start-up and drains it at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service.start()
        yield
        service.close()

    app = FastAPI(title="kglink", version=__version__, lifespan=lifespan)
    app.state.service = service
    errors.install(app)
    app.add_middleware(RouteMetrics, metrics=service.metrics)
    app.add_middleware(BodyLimit, max_bytes=service.limits.max_body_bytes)
    _health_routes(app, service)
    _graph_routes(app, service)
    _edit_routes(app, service)
    _retrieval_routes(app, service)
    add_explorer(app, service)  # the page at /
    return app


def _scope(service: Service, need: str):
    async def dependency(request: Request) -> None:  # on the loop: a thread hop costs more than the check
        check_scope(service.keys, request.headers, need)

    return Depends(dependency)


def _health_routes(app: FastAPI, service: Service) -> None:
    @app.get("/livez")
    def livez() -> dict:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> dict:
        if service.closing:
            raise ApiError(503, "shutting_down", "the server is draining; send requests elsewhere")
        if not service.ready:
            raise ApiError(503, "not_ready", "the model and graphs are still loading")
        return {"status": "ready", "graphs": sorted(service.stores)}

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        if service.batcher is not None:
            service.metrics.queue_depth.set(service.batcher.depth)
        return PlainTextResponse(service.metrics.render(), media_type="text/plain; version=0.0.4")


def _graph_info(service: Service, name: str) -> dict:
    store = service.store(name)
    snap = store.snapshot
    entities = snap.bundle.entities
    return {
        "name": name,
        "version": snap.version,
        "model": entities.model.name,
        "threshold": entities.threshold,
        "normalization": entities.normalization,
        "stats": snap.stats(),
        "passage_index": snap.bundle.passages is not None,
        "pending_writes": store.pending,
    }


def _graph_routes(app: FastAPI, service: Service) -> None:
    read, admin = _scope(service, "read"), _scope(service, "admin")

    @app.get("/v1/graphs", dependencies=[read])
    def graphs() -> dict:
        return {"graphs": [_graph_info(service, n) for n in sorted(service.stores)]}

    @app.get("/v1/graphs/{graph}", dependencies=[read])
    def graph_info(graph: str) -> dict:
        return _graph_info(service, graph)

    @app.post("/v1/graphs/{graph}/link", dependencies=[read])
    async def link(graph: str, body: LinkRequest) -> dict:
        _cap_names(service, body.mentions, "mentions")
        entities = service.store(graph).snapshot.bundle.entities
        texts = [k for k in map(normalize_name, body.mentions) if k]
        run = lambda: entities.link(body.mentions, body.top_k, body.threshold)  # noqa: E731
        group = Group(
            (id(entities), body.top_k, body.threshold),
            partial(_link_together, entities, body.top_k, body.threshold),
        )
        results = await service.read(texts, run, group, body.mentions)
        return {"results": [link_json(r) for r in results]}

    @app.post("/v1/graphs/{graph}/entities", dependencies=[admin])
    async def entities(graph: str, body: EntitiesRequest) -> dict:
        _cap_names(service, body.names, "names")
        answer = await service.write(graph, lambda b: add_entities(b, body.names))
        service.metrics.pairs.labels(graph).inc(service.store(graph).snapshot.bundle.entities.pairs_scored)
        return {
            "added": answer["added"],
            "synonyms": [asdict(p) for p in answer["synonyms"]],
            "version": service.store(graph).snapshot.version,
        }

    @app.get("/v1/graphs/{graph}/synonyms", dependencies=[read])
    def synonyms(graph: str, node: str | None = None, limit: int | None = Query(None, ge=1)) -> dict:
        pairs = service.store(graph).snapshot.synonyms(node, limit)
        return {"synonyms": [asdict(p) for p in pairs]}

    @app.get("/v1/graphs/{graph}/synonyms/decisions", dependencies=[read])
    def decisions(graph: str) -> dict:
        d = service.store(graph).snapshot.bundle.decisions
        return {"accept": sorted(map(list, d.accept)), "reject": sorted(map(list, d.reject))}

    @app.post("/v1/graphs/{graph}/synonyms/decisions", dependencies=[admin])
    async def record_decisions(graph: str, body: DecisionsRequest) -> dict:
        if len(body.accept) + len(body.reject) > service.limits.max_mentions:
            raise ApiError(422, "invalid_request", f"at most {service.limits.max_mentions} pairs a request")
        answer = await service.write(graph, lambda b: decide(b, body.accept, body.reject))
        return {**answer, "version": service.store(graph).snapshot.version}


def _edit_routes(app: FastAPI, service: Service) -> None:
    """Removing and merging entities, and passages ingested as a background job."""
    read, admin = _scope(service, "read"), _scope(service, "admin")
    facts = frozenset({FACTS_DIR})  # the fact index names entities too

    @app.delete("/v1/graphs/{graph}/entities", dependencies=[admin])
    async def remove(graph: str, body: RemoveRequest) -> dict:
        _cap_names(service, body.ids, "ids")
        answer = await service.write(graph, lambda b: remove_entities(b, body.ids), facts)
        return {**answer, "version": service.store(graph).snapshot.version}

    @app.post("/v1/graphs/{graph}/entities/merge", dependencies=[admin])
    async def merge(graph: str, body: MergeRequest) -> dict:
        _cap_names(service, [*body.ids, body.into], "ids")
        answer = await service.write(graph, lambda b: merge_entities(b, body.ids, body.into), facts)
        return {**answer, "version": service.store(graph).snapshot.version}

    @app.post("/v1/graphs/{graph}/passages", dependencies=[admin], status_code=202)
    def passages(graph: str, body: PassagesRequest) -> dict:
        from kglink.serve.ingest import start_ingest

        records = [(p.title, p.text) for p in body.passages]
        _cap_passages(service, records)
        if service.closing:
            raise ApiError(503, "shutting_down", "the server is shutting down; send the passages later")
        job = start_ingest(service, graph, records)
        return {**job.json(), "url": f"/v1/jobs/{job.id}"}

    @app.get("/v1/jobs/{job_id}", dependencies=[read])
    def job(job_id: str) -> dict:
        return service.jobs.get(job_id).json()


def _cap_passages(service: Service, records: list[tuple[str, str]]) -> None:
    limits = service.limits
    if not records:
        raise ApiError(422, "invalid_request", "passages is empty; send at least one {title, text}")
    if len(records) > limits.max_passages:
        raise ApiError(
            422,
            "invalid_request",
            f"{len(records)} passages in one job, over the cap of {limits.max_passages}; split them",
            {"cap": limits.max_passages},
        )
    for i, (title, text) in enumerate(records):
        check_text(text, f"passage #{i}'s text")
        if len(title) + len(text) > limits.max_passage_chars:
            raise ApiError(
                422,
                "invalid_request",
                f"passage #{i} is over {limits.max_passage_chars} characters; cut it into passages",
                {"cap": limits.max_passage_chars},
            )


def _retrieval_routes(app: FastAPI, service: Service) -> None:
    read = _scope(service, "read")

    @app.post("/v1/graphs/{graph}/retrieve", dependencies=[read])
    async def retrieve(graph: str, body: RetrieveRequest) -> dict:
        snap, question, texts = retrieval_inputs(service, graph, body.question, body.mode == "graph")

        def run() -> list[PassageHit]:
            retriever = snap.retriever()
            fetch = retriever.retrieve if body.mode == "graph" else retriever.retrieve_dense
            return fetch(question, body.top_k)

        return {"passages": [asdict(h) for h in await service.read(texts, run)]}

    @app.post("/v1/graphs/{graph}/ask", dependencies=[read])
    async def ask(graph: str, body: AskRequest):
        from kglink.serve.ask import answer

        return await answer(service, graph, _question(service, body.question), body.top_k, body.stream)


_FINDER = NgramMentions()  # the retriever's default mention finder, to know the texts to encode


def retrieval_inputs(service: Service, graph: str, question: str, graph_mode: bool = True):
    """``(snapshot, question, texts to encode)`` for a retrieval, or the error it meets first."""
    snap, question = service.store(graph).snapshot, _question(service, question)
    if snap.bundle.passages is None:
        raise ApiError(409, "no_passage_index", "this graph has no passage index; rebuild with --passages")
    spans = [k for m in _FINDER(question) if (k := normalize_name(m.text))] if graph_mode else []
    return snap, question, [question, *spans]


def _cap_names(service: Service, names: list[str], what: str) -> None:
    limits = service.limits
    if len(names) > limits.max_mentions:
        raise ApiError(
            422,
            "invalid_request",
            f"{len(names)} {what} in one request, over the cap of {limits.max_mentions}; split the request",
            {"cap": limits.max_mentions},
        )
    long = next((i for i, n in enumerate(names) if len(n) > limits.max_name_chars), None)
    if long is not None:
        raise ApiError(
            422,
            "invalid_request",
            f"{what} #{long} is {len(names[long])} characters, over the cap "
            f"of {limits.max_name_chars}; entity names are short",
            {"cap": limits.max_name_chars},
        )


def _question(service: Service, question: str) -> str:
    check_text(question, "the question")
    if len(question) > service.limits.max_question_chars:
        raise ApiError(
            422,
            "invalid_request",
            f"the question is over {service.limits.max_question_chars} characters; shorten it",
        )
    return question


def _link_together(entities, top_k: int, threshold: float | None, inputs: list[list[str]]) -> list:
    """One ``EntityIndex.link`` over every job's mentions, split back per job."""
    results = iter(entities.link([m for mentions in inputs for m in mentions], top_k, threshold))
    return [[next(results) for _ in mentions] for mentions in inputs]


def link_json(r: LinkResult) -> dict:
    """One link result as JSON (the same fields as ``kglink link --json``)."""
    return {
        "mention": r.mention,
        "linked": r.linked,
        "matches": [asdict(m) for m in r.matches],
        "best": asdict(r.best) if r.best else None,
    }
