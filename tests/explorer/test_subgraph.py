"""Bounded subgraphs on a graph small enough to work out by hand."""

from __future__ import annotations

import pytest

from kglink.corpus import OpenIEData, OpenIEDoc, Passage
from kglink.errors import InputError
from kglink.graph import KnowledgeGraph
from kglink.graph.subgraph import MAX_HOPS, MAX_NODES, neighbourhood, node_link, retrieval_subgraph
from kglink.results import PassageHit, Seed, SynonymPair


@pytest.fixture
def kg() -> KnowledgeGraph:
    """p1: ann-met-bob; p2: bob-knows-cy; p3: cy-likes-dee; plus a synonym edge ann~anne."""
    docs = [
        OpenIEDoc(Passage("p1", "One", "Ann met Bob.\nLater."), ("Ann", "Anne"), (("Ann", "met", "Bob"),)),
        OpenIEDoc(Passage("p2", "Two", "Bob knows Cy."), (), (("Bob", "knows", "Cy"),)),
        OpenIEDoc(Passage("p3", "Three", "Cy likes Dee."), (), (("Cy", "likes", "Dee"),)),
    ]
    g = KnowledgeGraph.from_openie(OpenIEData(tuple(docs), "v1", 0))
    g.add_synonyms([SynonymPair("ann", "anne", 0.9)])
    return g


def test_hops_bound_the_search(kg):
    assert set(neighbourhood(kg, "Ann", hops=0).nodes) == {"e:ann"}
    one = neighbourhood(kg, "Ann", hops=1)
    assert set(one.nodes) == {"e:ann", "e:anne", "e:bob", "p:p1"}
    assert one.hops["e:bob"] == 1 and one.roles == {"e:ann": "center"} and not one.truncated
    two = neighbourhood(kg, "Ann", hops=2)
    assert set(two.nodes) == set(one.nodes) | {"e:cy", "p:p2"}


def test_max_nodes_cuts_strongest_edges_first(kg):
    sub = neighbourhood(kg, "Ann", hops=3, max_nodes=2)
    assert sub.nodes == ("e:ann", "e:anne") and sub.truncated  # the synonym edge before the rest


def test_node_link_carries_kinds_predicates_and_scores(kg):
    data = node_link(kg, neighbourhood(kg, "Ann", hops=1))
    edges = {(e["source"], e["target"]): e for e in data["edges"]}
    assert edges["e:ann", "e:bob"]["predicates"] == ["met"]
    assert edges["e:ann", "e:anne"] == {
        "source": "e:ann",
        "target": "e:anne",
        "kind": "synonym",
        "weight": 0.9,
        "score": 0.9,
    }
    assert edges["e:ann", "p:p1"]["kind"] == "mention"
    assert ("e:anne", "e:bob") not in edges and len(edges) == 5  # induced: every edge among the nodes
    passage = next(n for n in data["nodes"] if n["id"] == "p:p1")
    assert passage["label"] == "One" and passage["opening"] == "Ann met Bob."


def test_caps_and_unknown_nodes_are_refused(kg):
    with pytest.raises(InputError, match="hops must be"):
        neighbourhood(kg, "Ann", hops=MAX_HOPS + 1)
    with pytest.raises(InputError, match="max_nodes must be"):
        neighbourhood(kg, "Ann", max_nodes=MAX_NODES + 1)
    with pytest.raises(InputError, match="no node 'Zed'"):
        neighbourhood(kg, "Zed")


def test_retrieval_subgraph_joins_each_passage_to_its_seed(kg):
    seed = Seed("Ann", "e:ann", 1.0, 1.0)
    hits = [PassageHit("p3", "Three", "", 0.5, (seed,)), PassageHit("p1", "One", "", 0.4, (seed,))]
    sub = retrieval_subgraph(kg, hits, hops=4)
    assert sub.roles == {"e:ann": "seed", "p:p3": "retrieved", "p:p1": "retrieved"}
    # ann -> bob -> cy -> p3 is the shortest path to p3; p1 is one mention away
    assert set(sub.nodes) == {"e:ann", "p:p3", "p:p1", "e:bob", "e:cy"}
    assert sub.hops["p:p3"] == 3
    short = retrieval_subgraph(kg, hits, hops=2)
    assert set(short.nodes) == {"e:ann", "p:p3", "p:p1"}  # p3 is out of reach: it stands alone
