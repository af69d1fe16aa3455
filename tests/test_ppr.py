"""Personalized PageRank: hand-worked values, the linear system, networkx, and the MuSiQue graph."""

from __future__ import annotations

import logging
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from kglink.errors import InputError
from kglink.ppr import (
    graph_matrix,
    pagerank_reference,
    personalized_pagerank,
    seed_vector,
)

MUSIQUE = Path(__file__).resolve().parents[1] / "graphs" / "musique"


def exact_ppr(graph: nx.Graph, seeds: dict, damping: float) -> np.ndarray:
    """Solve ``x = (1 - d) p + d (P^T x + p * dangling mass)`` densely, in ``list(graph)`` order."""
    a = nx.to_numpy_array(graph, weight="weight")
    out = a.sum(axis=1)
    walk = np.divide(a, out[:, None], out=np.zeros_like(a), where=out[:, None] > 0)
    p = np.array([seeds.get(n, 0.0) for n in graph], dtype=float)
    p /= p.sum()
    step = walk.T + np.outer(p, out == 0)
    return np.linalg.solve(np.eye(len(p)) - damping * step, (1 - damping) * p)


def ppr(graph: nx.Graph, seeds: dict, **kwargs) -> np.ndarray:
    matrix = graph_matrix(graph)
    return personalized_pagerank(matrix, seed_vector(matrix, seeds), **kwargs)


def as_array(graph: nx.Graph, scores: dict) -> np.ndarray:
    return np.array([scores[n] for n in graph])


def random_graph(seed: int) -> nx.Graph:
    """A weighted G(n, m) graph with string nodes, isolated nodes and a self-loop."""
    rng = np.random.default_rng(seed)
    g = nx.gnm_random_graph(50, 70, seed=seed)
    g.add_nodes_from(range(50, 55))  # isolated, hence dangling
    g.add_edge(3, 3)
    for _, _, d in g.edges(data=True):
        d["weight"] = float(rng.uniform(0.1, 5.0))
    return nx.relabel_nodes(g, {n: f"n{n}" for n in g})


def test_path_by_hand():
    # a -1- b -3- c, seed a, d = 1/2:  x_a = 1/2 + x_b/8, x_b = (x_a + x_c)/2, x_c = 3 x_b/8
    g = nx.Graph()
    g.add_edge("a", "b", weight=1.0)
    g.add_edge("b", "c", weight=3.0)
    x = ppr(g, {"a": 1.0}, damping=0.5)
    np.testing.assert_allclose(x, [13 / 24, 1 / 3, 1 / 8], atol=1e-10)
    np.testing.assert_allclose(x, exact_ppr(g, {"a": 1.0}, 0.5), atol=1e-10)
    np.testing.assert_allclose(x, as_array(g, nx.pagerank(g, alpha=0.5, personalization={"a": 1})), atol=1e-6)


def test_linear_system_with_dangling_seed():
    g = nx.Graph()
    g.add_edge("a", "b", weight=2.0)
    g.add_edge("b", "c", weight=1.0)
    g.add_node("lone")
    seeds = {"a": 1.0, "lone": 3.0}
    x = ppr(g, seeds, damping=0.7, tol=1e-13)
    np.testing.assert_allclose(x, exact_ppr(g, seeds, 0.7), atol=1e-11)
    np.testing.assert_allclose(x, as_array(g, pagerank_reference(g, seeds, damping=0.7)), atol=1e-10)


def test_other_component_gets_exactly_nothing():
    g = nx.Graph([("a", "b"), ("b", "c"), ("c", "a"), ("x", "y"), ("y", "z")])
    g.add_node("lone")
    matrix = graph_matrix(g)
    x = personalized_pagerank(matrix, seed_vector(matrix, {"a": 1.0}))
    assert [x[matrix.index[n]] for n in ("x", "y", "z", "lone")] == [0.0, 0.0, 0.0, 0.0]
    assert x.sum() == pytest.approx(1.0)
    lone = personalized_pagerank(matrix, seed_vector(matrix, {"lone": 1.0}))
    assert lone[matrix.index["lone"]] == 1.0 and lone.sum() == 1.0
    assert pagerank_reference(g, {"lone": 1.0})["lone"] == pytest.approx(1.0, abs=1e-10)


@pytest.mark.parametrize(
    "vector",
    [np.zeros(3), np.array([1.0, -1.0, 1.0]), np.array([np.nan, 1.0, 0.0]), np.ones(2), np.ones((3, 0))],
)
def test_bad_personalization(vector):
    matrix = graph_matrix(nx.path_graph(3))
    with pytest.raises(InputError, match="seed|shape"):
        personalized_pagerank(matrix, vector)


def test_zero_column_and_empty_graph():
    matrix = graph_matrix(nx.path_graph(3))
    with pytest.raises(InputError, match="at least one seed with positive weight"):
        personalized_pagerank(matrix, np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(InputError, match="no nodes"):
        personalized_pagerank(graph_matrix(nx.Graph()), np.zeros(0))


@pytest.mark.parametrize("damping", [0.0, 1.0, -0.2, 1.5, float("nan")])
def test_bad_damping(damping):
    matrix = graph_matrix(nx.path_graph(3))
    with pytest.raises(InputError, match="damping"):
        personalized_pagerank(matrix, np.ones(3), damping=damping)


def test_unknown_seed_node():
    matrix = graph_matrix(nx.path_graph(3))
    with pytest.raises(InputError, match="not in the graph"):
        seed_vector(matrix, {"nope": 1.0})


def test_batch_equals_columns():
    g = random_graph(0)
    matrix = graph_matrix(g)
    rng = np.random.default_rng(1)
    batch = rng.uniform(size=(len(g), 40)) * (rng.uniform(size=(len(g), 40)) < 0.1)
    batch[0] = 1.0  # no empty column
    batch[50, 3] = 5.0  # a dangling seed
    x = personalized_pagerank(matrix, batch, damping=0.6)
    for j in range(batch.shape[1]):
        column = personalized_pagerank(matrix, batch[:, j], damping=0.6)
        np.testing.assert_allclose(x[:, j], column, atol=1e-15)


@pytest.mark.parametrize("seed", range(5))
def test_random_graphs_match_networkx(seed):
    g = random_graph(seed)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(g), size=4, replace=False)
    seeds = {f"n{i}": float(rng.uniform(0.5, 2.0)) for i in chosen}
    damping = float(rng.uniform(0.3, 0.9))
    x = ppr(g, seeds, damping=damping, max_iter=1000)
    assert np.abs(x - as_array(g, pagerank_reference(g, seeds, damping=damping))).max() < 1e-8


def test_matrix_layout_matches_networkx():
    g = random_graph(7)
    matrix = graph_matrix(g)
    expected = nx.to_scipy_sparse_array(g, nodelist=list(matrix.nodes), weight="weight")
    assert abs(matrix.adjacency - expected).max() < 1e-15
    assert (matrix.adjacency != matrix.adjacency.T).nnz == 0
    np.testing.assert_allclose(matrix.out_weight, expected.sum(axis=1))
    isolated = [n for n, degree in g.degree() if degree == 0]
    assert [matrix.nodes[i] for i in matrix.dangling] == isolated and "n54" in isolated
    unweighted = graph_matrix(g, weight=None)
    ones = nx.to_scipy_sparse_array(g, nodelist=list(matrix.nodes), weight=None)
    np.testing.assert_array_equal(unweighted.out_weight, ones.sum(axis=1))  # a self-loop counts once


def test_bad_weights_and_graphs():
    g = nx.Graph()
    g.add_edge("a", "b", weight=-1.0)
    with pytest.raises(InputError, match="finite and >= 0"):
        graph_matrix(g)
    with pytest.raises(InputError, match="undirected"):
        graph_matrix(nx.DiGraph([("a", "b")]))
    with pytest.raises(InputError, match="string"):
        graph_matrix(nx.path_graph(3), edge_kinds="relation")


def test_edge_kinds_drop_synonyms():
    g = nx.Graph()
    g.add_node("p:1", kind="passage")
    g.add_nodes_from(["e:a", "e:b", "e:c", "e:d"], kind="entity")
    g.add_edge("p:1", "e:a", kind="mention", weight=1.0)
    g.add_edge("e:a", "e:b", kind="relation", weight=2.0, synonym_score=0.9)
    g.add_edge("e:b", "e:c", kind="synonym", score=0.8, weight=0.8)
    g.add_edge("e:c", "e:d", kind="relation", weight=1.0)
    kept = graph_matrix(g, edge_kinds={"relation", "mention"})
    assert kept.adjacency.nnz == 2 * 3
    assert kept.adjacency[kept.index["e:a"], kept.index["e:b"]] == 2.0  # synonym_score keeps it
    assert kept.adjacency[kept.index["e:b"], kept.index["e:c"]] == 0.0
    x = personalized_pagerank(kept, seed_vector(kept, {"e:a": 1.0}))
    assert x[kept.index["e:c"]] == 0.0 and x[kept.index["e:d"]] == 0.0
    no_synonyms = g.edge_subgraph((u, v) for u, v, k in g.edges(data="kind") if k != "synonym")
    expected = pagerank_reference(nx.Graph(no_synonyms), {"e:a": 1.0})
    assert max(abs(x[kept.index[n]] - s) for n, s in expected.items()) < 1e-8
    everything = graph_matrix(g)
    assert everything.adjacency.nnz == 2 * 4 and graph_matrix(g, edge_kinds=set()).adjacency.nnz == 0


def test_not_converged_warns(caplog):
    matrix = graph_matrix(random_graph(3))
    with caplog.at_level(logging.WARNING, logger="kglink.ppr"):
        x = personalized_pagerank(matrix, seed_vector(matrix, {"n1": 1.0}), max_iter=2)
    assert "did not converge" in caplog.text
    assert x.sum() == pytest.approx(1.0)


@pytest.mark.slow
def test_musique_matches_networkx():
    if not (MUSIQUE / "graph.json").exists():
        pytest.skip(f"{MUSIQUE} is absent; build it with `kglink build` (see README)")
    from kglink.graph import KnowledgeGraph

    g = KnowledgeGraph.load(MUSIQUE).graph
    matrix = graph_matrix(g)
    entities = sorted(n for n, kind in g.nodes(data="kind") if kind == "entity")
    rng = np.random.default_rng(0)
    for _ in range(5):
        seeds = {entities[i]: 1.0 for i in rng.choice(len(entities), int(rng.integers(1, 6)), replace=False)}
        x = personalized_pagerank(matrix, seed_vector(matrix, seeds))
        reference = pagerank_reference(g, seeds)
        assert max(abs(x[matrix.index[n]] - s) for n, s in reference.items()) < 1e-6
