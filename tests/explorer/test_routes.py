"""The explorer's routes in-process: the page without a key, the read routes with one, the caps."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from kglink.serve import Service, create_app


@pytest.fixture(scope="module")
def app(explorer_graph, default_model):
    service = Service({"kg": explorer_graph}, model=default_model, api_keys={"k": "read"})
    application = create_app(service)
    service.start()
    yield application
    service.close()


def _get(app, path, key="k", **params):
    async def go():
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://t", headers=headers
        ) as c:
            return await c.get(path, params=params)

    return asyncio.run(go())


def test_the_page_and_its_scripts_need_no_key(app):
    page = _get(app, "/", key=None)
    assert page.status_code == 200 and 'id="api-key-dialog"' in page.text
    assert _get(app, "/static/vendor/cytoscape.min.js", key=None).status_code == 200
    assert _get(app, "/v1/graphs/kg/subgraph", key=None, node="grand ole opry").status_code == 401


def test_subgraph_route_is_bounded_and_checked(app):
    r = _get(app, "/v1/graphs/kg/subgraph", node="Grand Ole Opry", hops=2, max_nodes=5)
    data = r.json()
    assert r.status_code == 200 and len(data["nodes"]) == 5 and data["graph"]["truncated"]
    assert _get(app, "/v1/graphs/kg/subgraph", node="Grand Ole Opry", hops=9).status_code == 422
    assert _get(app, "/v1/graphs/kg/subgraph", node="Grand Ole Opry", max_nodes=501).status_code == 422
    missing = _get(app, "/v1/graphs/kg/subgraph", node="No Such Thing")
    assert missing.status_code == 404 and missing.json()["code"] == "node_not_found"


def test_node_view_lists_synonyms_and_passages(app):
    view = _get(app, "/v1/graphs/kg/node", node="grand ole opry").json()
    assert view["kind"] == "entity" and view["counts"]["synonyms"] == len(view["synonyms"]) >= 1
    assert view["synonyms"][0]["target"] == "e:the grand ole opry"
    assert all(m["other"]["kind"] == "passage" and m["other"]["title"] for m in view["mentions"])
