"""The graph explorer: the page at ``/`` and the read routes it draws from.

- ``GET /`` and ``/static/...``: the page (plain JS and a vendored cytoscape.js, shipped in
  the package; nothing is fetched from elsewhere);
- ``GET /v1/graphs/{g}/subgraph?node=&hops=&max_nodes=``: a bounded neighbourhood as
  node-link JSON (:func:`kglink.graph.subgraph.neighbourhood`);
- ``GET /v1/graphs/{g}/node?node=``: what the page shows of one node (surface forms,
  passages, relation and synonym edges, the person's decisions on its pairs);
- ``POST /v1/graphs/{g}/retrieve/subgraph``: a question's passages, seeds and the subgraph
  joining them (:class:`~kglink.retrieval.retriever.GraphRetriever`, then
  :func:`kglink.graph.subgraph.retrieval_subgraph`).

The routes need a read key like the rest of ``/v1``; the page itself needs none (it asks
for the key when the API answers 401).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from fastapi import FastAPI, Query
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import Field

from kglink.errors import InputError
from kglink.graph import ENTITY_PREFIX
from kglink.graph.subgraph import (
    MAX_HOPS,
    MAX_NODES,
    edge_json,
    neighbourhood,
    node_json,
    node_link,
    resolve_node,
    retrieval_subgraph,
)
from kglink.serve.errors import ApiError
from kglink.serve.schemas import _Body
from kglink.serve.service import Service

STATIC = Path(__file__).parent / "static"
MAX_LISTED = 200  # passages or edges listed in one node view


class SubgraphRequest(_Body):
    question: str
    top_k: int = Field(5, ge=1, le=50)
    hops: int = Field(3, ge=0, le=MAX_HOPS)
    max_nodes: int = Field(80, ge=1, le=MAX_NODES)


def add_explorer(app: FastAPI, service: Service) -> None:
    """Add the page and its routes to ``app`` (called once by :func:`kglink.serve.create_app`)."""
    from kglink.serve.app import _scope, retrieval_inputs  # the app's own key check and caps

    read = _scope(service, "read")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="explorer-static")

    @app.get("/v1/graphs/{graph}/subgraph", dependencies=[read])
    def subgraph(
        graph: str,
        node: str,
        hops: int = Query(1, ge=0, le=MAX_HOPS),
        max_nodes: int = Query(60, ge=1, le=MAX_NODES),
    ) -> dict:
        kg = service.store(graph).snapshot.bundle.graph
        return node_link(kg, neighbourhood(kg, _node(kg, node), hops, max_nodes))

    @app.get("/v1/graphs/{graph}/node", dependencies=[read])
    def node_view(graph: str, node: str) -> dict:
        bundle = service.store(graph).snapshot.bundle
        return describe(bundle, _node(bundle.graph, node))

    @app.post("/v1/graphs/{graph}/retrieve/subgraph", dependencies=[read])
    async def question_subgraph(graph: str, body: SubgraphRequest) -> dict:
        snap, question, texts = retrieval_inputs(service, graph, body.question)
        hits = await service.read(texts, lambda: snap.retriever().retrieve(question, body.top_k))
        kg = snap.bundle.graph
        sub = retrieval_subgraph(kg, hits, body.hops, body.max_nodes)
        seeds = list({s.node: asdict(s) for h in hits for s in h.seeds}.values())
        return {"passages": [asdict(h) for h in hits], "seeds": seeds, "subgraph": node_link(kg, sub)}


def _node(kg, node: str) -> str:
    try:
        return resolve_node(kg, node)
    except InputError as e:
        raise ApiError(404, "node_not_found", str(e)) from None


def describe(bundle, node: str) -> dict:
    """One node as the page shows it: its fields, its passages or entities, its edges by kind."""
    graph = bundle.graph.graph
    out = {**node_json(graph, node), "relations": [], "synonyms": [], "mentions": []}
    if out["kind"] == "passage":
        out["text"] = graph.nodes[node].get("text", "")
    for other in graph.adj[node]:
        e = edge_json(node, other, graph.edges[node, other])
        e.update(source=node, target=other, other=node_json(graph, other))
        if e["kind"] == "mention":
            out["mentions"].append(e)
        elif e["kind"] == "relation":
            out["relations"].append(e)
        if e["kind"] == "synonym" or "synonym_score" in e:
            out["synonyms"].append({**e, "score": e.get("score", e.get("synonym_score"))})
    out["synonyms"].sort(key=lambda e: (-e["score"], e["target"]))
    out["relations"].sort(key=lambda e: (-e["count"], e["target"]))
    out["mentions"].sort(key=lambda e: e["target"])
    counts = {k: len(out[k]) for k in ("relations", "synonyms", "mentions")}
    out.update({k: out[k][:MAX_LISTED] for k in counts}, counts=counts)
    out["decisions"] = _decisions_of(bundle, out) if out["kind"] == "entity" else {"accept": [], "reject": []}
    return out


def _decisions_of(bundle, view: dict) -> dict:
    """The person's decisions on pairs with this entity: ``{"accept": [other], "reject": [other]}``."""
    name = view["name"]
    d = bundle.decisions
    pick = {
        k: sorted(b if a == name else a for a, b in pairs if name in (a, b))
        for k, pairs in (("accept", d.accept), ("reject", d.reject))
    }
    for e in view["synonyms"]:
        other = e["target"][len(ENTITY_PREFIX) :]
        e["decision"] = "accept" if other in pick["accept"] else ""
    return pick
