"""Removing and merging entities: every edge, list, index row and decision kept consistent.

A hand-built graph (five passages about New York) where every count is known: the library's
``GraphBundle.remove_entities`` / ``merge_entities``, then the same through the HTTP routes,
saved, reloaded, and compared with the library.
"""

from __future__ import annotations

import asyncio

import networkx as nx
import numpy as np
import pytest

from kglink import GraphBundle, build_graph
from kglink.corpus import OpenIEData, OpenIEDoc, Passage
from kglink.errors import InputError
from kglink.graph import ENTITY_PREFIX, PASSAGE_PREFIX, KnowledgeGraph
from kglink.graph.curation import SynonymDecisions
from kglink.index.facts import fact_key
from kglink.results import SynonymPair
from kglink.text import normalize_name

KEYS = {"reader": "read", "boss": "admin"}
ADMIN = {"X-API-Key": "boss"}


def _doc(pid: str, entities: tuple, triples: tuple) -> OpenIEDoc:
    return OpenIEDoc(Passage(pid, "", f"passage {pid}"), entities, triples)


def openie() -> OpenIEData:
    return OpenIEData(
        (
            _doc("p1", ("NYC",), (("NYC", "is in", "New York State"), ("NYC", "hosts", "UN"))),
            _doc(
                "p2",
                ("New York City",),
                (("New York City", "is in", "New York State"), ("New York City", "called", "Big Apple")),
            ),
            _doc("p3", (), (("Big Apple", "nickname of", "NYC"), ("Paris", "capital of", "France"))),
            _doc("p4", (), (("Paris", "twinned with", "New York City"),)),
            _doc("p5", ("France",), ()),
        ),
        "v1",
        0,
    )


def hand_built(model) -> GraphBundle:
    """The graph with known synonym edges (the model's are replaced) and known decisions."""
    bundle = build_graph(openie(), model=model, facts=True)
    bundle.graph.remove_synonyms()
    bundle.graph.add_synonyms(
        [
            SynonymPair("nyc", "paris", 0.5),  # onto the paris - new york city relation once merged
            SynonymPair("big apple", "france", 0.7),  # meets the next one on one pair: 0.9 stays
            SynonymPair("new york city", "france", 0.9),
            SynonymPair("nyc", "new york city", 0.95),  # between merged nodes: dropped
            SynonymPair("un", "france", 0.6),
        ]
    )
    bundle.decisions = SynonymDecisions().decide(
        bundle.graph,
        accept=[("Big Apple", "UN"), ("NYC", "Big Apple")],
        reject=[("France", "Paris"), ("UN", "New York State")],
    )
    bundle.decisions.apply(bundle.graph)
    return bundle


@pytest.fixture(scope="module")
def built(tmp_path_factory, default_model):
    folder = tmp_path_factory.mktemp("edits") / "ny"
    hand_built(default_model).save(folder)
    return folder


def check_consistent(bundle: GraphBundle) -> None:
    """The invariants every edit must keep."""
    g, names = bundle.graph.graph, set(bundle.graph.entity_names())
    for node, d in g.nodes(data=True):
        if d["kind"] != "entity":
            continue
        assert node == ENTITY_PREFIX + d["name"]
        mentioned = sorted(n[len(PASSAGE_PREFIX) :] for n in g[node] if g.nodes[n]["kind"] == "passage")
        assert d["passages"] == mentioned, node  # passage membership = mention edges
    for u, v, d in g.edges(data=True):
        kinds = {g.nodes[u]["kind"], g.nodes[v]["kind"]}
        assert kinds == ({"entity", "passage"} if d["kind"] == "mention" else {"entity"}), (u, v, d)
        assert u != v
        if d["kind"] == "relation":
            assert d["weight"] == float(d["count"]) and d["count"] >= len(d["passages"]) >= 1
            for end in (u, v):
                assert set(d["passages"]) <= set(g.nodes[end]["passages"])
    entities = bundle.entities
    assert set(entities.docs.ids) == set(entities.queries.ids) == set(entities._self) == names
    assert len(entities.docs.ids) == len(names)
    for s, _, o in bundle.facts.triples():
        assert {normalize_name(s), normalize_name(o)} <= names, (s, o)
    assert [fact_key(t) for t in bundle.facts.triples()] == bundle.facts.docs.ids
    for a, b in bundle.decisions.accept | bundle.decisions.reject:
        assert {a, b} <= names


def test_the_hand_built_graph_is_as_described(default_model):
    bundle = hand_built(default_model)
    check_consistent(bundle)
    assert bundle.graph.stats()["entities"] == 7 and len(bundle.facts) == 7


def test_merge_in_the_library(default_model):
    bundle = hand_built(default_model)
    fact_before = bundle.facts.docs.embedding(fact_key(("NYC", "hosts", "UN"))).copy()
    out = bundle.merge_entities(["NYC", "big apple"], into="New York City")
    assert out["merged"] == ["nyc", "big apple"] and out["into"] == "new york city"
    check_consistent(bundle)
    g = bundle.graph.graph
    city = g.nodes["e:new york city"]
    assert city["passages"] == ["p1", "p2", "p3", "p4"]
    assert city["surface_forms"] == ["Big Apple", "NYC", "New York City"]
    assert "e:nyc" not in g and "e:big apple" not in g
    state = g.edges["e:new york city", "e:new york state"]
    assert (state["kind"], state["count"], state["predicates"], state["passages"]) == (
        "relation",
        2,
        ["is in"],
        ["p1", "p2"],
    )
    assert g.edges["e:new york city", "e:un"]["predicates"] == ["hosts"]
    # the relation moved from nyc keeps its synonym score; accepted ("big apple", "un") is 1.0
    assert g.edges["e:new york city", "e:paris"]["synonym_score"] == 0.5
    assert g.edges["e:new york city", "e:un"]["synonym_score"] == 1.0
    assert g.edges["e:france", "e:new york city"] == {"kind": "synonym", "score": 0.9, "weight": 0.9}
    assert out["dropped_edges"] == 3  # nyc-city (synonym), nyc-big apple, city-big apple
    assert g.graph["skipped_triples"] == 2  # "called" and "nickname of" became self-loops
    assert bundle.graph.stats()["triples"] == 5
    facts = set(bundle.facts.docs.ids)
    assert facts == {
        "new york city|is in|new york state",
        "new york city|hosts|un",
        "paris|capital of|france",
        "paris|twinned with|new york city",
    }
    assert out["facts_renamed"] == 4
    moved = bundle.facts.docs.embedding("new york city|hosts|un")
    np.testing.assert_array_equal(moved, fact_before)  # the fact keeps its encoding
    assert bundle.decisions.accept == {("new york city", "un")}
    assert bundle.decisions.reject == {("france", "paris"), ("new york state", "un")}
    assert bundle.entities.link(["NYC"], top_k=1)[0].best.node_id != "nyc"


def test_remove_in_the_library(default_model):
    bundle = hand_built(default_model)
    mentions = bundle.graph.stats()["mention_edges"]
    out = bundle.remove_entities(["UN", "france"])
    assert out == {"removed": ["un", "france"], "facts_removed": 2, "decisions_dropped": 3}
    check_consistent(bundle)
    g = bundle.graph.graph
    assert "e:un" not in g and "e:france" not in g and "p:p5" in g and g.degree("p:p5") == 0
    assert bundle.graph.stats()["mention_edges"] == mentions - 3  # un in p1; france in p3, p5
    assert not any("un" in (p.source, p.target) for p in bundle.graph.synonyms())
    assert set(bundle.facts.docs.ids) >= {"nyc|is in|new york state"} and len(bundle.facts) == 5
    assert bundle.decisions.accept == {("big apple", "nyc")} and not bundle.decisions.reject


def test_bad_edits_change_nothing(default_model):
    bundle = hand_built(default_model)
    before = nx.node_link_data(bundle.graph.graph, edges="edges", name="node")
    with pytest.raises(InputError, match="not in the graph"):
        bundle.remove_entities(["un", "no such thing"])
    with pytest.raises(InputError, match="nothing to merge"):
        bundle.merge_entities(["nyc"], into="NYC")
    with pytest.raises(InputError, match="not in the graph"):
        bundle.merge_entities(["nyc"], into="p1")
    with pytest.raises(InputError, match="list"):
        bundle.graph.remove_entities("nyc")
    assert nx.node_link_data(bundle.graph.graph, edges="edges", name="node") == before
    assert len(bundle.entities) == 7 and len(bundle.facts) == 7


def test_merge_into_one_of_the_ids_and_graph_only(default_model):
    kg = KnowledgeGraph.from_openie(openie())
    out = kg.merge_entities(["New York City", "NYC"], into="new york city")
    assert out["merged"] == ["nyc"] and "e:nyc" not in kg.graph
    assert kg.graph.nodes["e:new york city"]["passages"] == ["p1", "p2", "p3", "p4"]


def _same(a: GraphBundle, b: GraphBundle) -> None:
    data = [nx.node_link_data(x.graph.graph, edges="edges", name="node") for x in (a, b)]
    assert data[0] == data[1]
    assert a.entities.docs.ids == b.entities.docs.ids and a.entities._self == b.entities._self
    assert a.facts.docs.ids == b.facts.docs.ids and a.decisions == b.decisions


def test_routes_equal_the_library_and_persist(serve, client, built, tmp_path, default_model):
    import shutil

    folder = tmp_path / "ny"
    shutil.copytree(built, folder)
    service, app = serve({"ny": folder}, api_keys=KEYS)
    version = service.store("ny").snapshot.version

    async def go():
        async with client(app, **ADMIN) as c:
            merged = await c.post(
                "/v1/graphs/ny/entities/merge", json={"ids": ["nyc", "big apple"], "into": "new york city"}
            )
            removed = await c.request("DELETE", "/v1/graphs/ny/entities", json={"ids": ["un"]})
            link = await c.post("/v1/graphs/ny/link", json={"mentions": ["UN"], "top_k": 3})
            return merged, removed, link

    merged, removed, link = asyncio.run(go())
    assert merged.status_code == 200, merged.text
    assert removed.status_code == 200, removed.text
    expected = GraphBundle.load(built, default_model, show_progress=False)
    want_merge = expected.merge_entities(["nyc", "big apple"], "new york city")
    want_remove = expected.remove_entities(["un"])
    body = merged.json()
    assert {k: body[k] for k in want_merge} == want_merge and body["version"] != version
    assert {k: removed.json()[k] for k in want_remove} == want_remove
    assert all(m["node_id"] != "un" for m in link.json()["results"][0]["matches"])
    served = service.store("ny").snapshot.bundle
    check_consistent(served)
    _same(served, expected)
    on_disk = GraphBundle.load(folder, default_model, show_progress=False)
    check_consistent(on_disk)
    _same(on_disk, expected)
    service.close()
    _, app2 = serve({"ny": folder}, api_keys=KEYS)  # a restart serves the edited graph

    async def after():
        async with client(app2) as c:
            return await c.get("/v1/graphs/ny", headers={"X-API-Key": "reader"})

    assert asyncio.run(after()).json()["stats"] == expected.graph.stats()


def test_route_errors(serve, client, built):
    service, app = serve({"ny": built}, api_keys=KEYS)
    version = service.store("ny").snapshot.version

    async def go():
        async with client(app) as c:
            reader = {"X-API-Key": "reader"}
            yield await c.request("DELETE", "/v1/graphs/ny/entities", json={"ids": ["un"]}, headers=reader)
            yield await c.post(
                "/v1/graphs/ny/entities/merge", json={"ids": ["nyc"], "into": "x"}, headers=reader
            )
            yield await c.request("DELETE", "/v1/graphs/ny/entities", json={"ids": ["zzz"]}, headers=ADMIN)
            yield await c.post(
                "/v1/graphs/ny/entities/merge", json={"ids": ["nyc"], "into": "nyc"}, headers=ADMIN
            )
            yield await c.request("DELETE", "/v1/graphs/ny/entities", json={"ids": "un"}, headers=ADMIN)

    async def collect():
        return [r async for r in go()]

    answers = asyncio.run(collect())
    got = [(r.status_code, r.json()["code"]) for r in answers]
    assert got == [
        (403, "forbidden"),
        (403, "forbidden"),
        (400, "bad_input"),
        (400, "bad_input"),
        (422, "invalid_request"),
    ]
    assert "not in the graph" in answers[2].json()["message"]
    assert service.store("ny").snapshot.version == version  # nothing was written


def test_client_edits_equal_the_library(live, built, tmp_path, default_model):
    import shutil

    from kglink.client import Client, ServerError
    from kglink.serve import Service, create_app

    folder = tmp_path / "ny"
    shutil.copytree(built, folder)
    url = live(create_app(Service({"ny": folder}, model=default_model, api_keys=KEYS)))
    expected = GraphBundle.load(built, default_model, show_progress=False)
    with Client(url, api_key="boss") as c:
        merged = c.merge_entities("ny", ("nyc", "big apple"), into="new york city")
        removed = c.remove_entities("ny", ["un"])
        with pytest.raises(ServerError) as e:
            c.remove_entities("ny", ["un"])  # gone already
        linked = c.link("ny", ["Big Apple"], top_k=7)[0]
    want = expected.merge_entities(["nyc", "big apple"], "new york city")
    assert {k: merged[k] for k in want} == want
    want = expected.remove_entities(["un"])
    assert {k: removed[k] for k in want} == want
    assert (e.value.status, e.value.code) == (400, "bad_input")
    assert {m.node_id for m in linked.matches} <= set(expected.graph.entity_names())
    assert linked == expected.entities.link(["Big Apple"], top_k=7)[0]
