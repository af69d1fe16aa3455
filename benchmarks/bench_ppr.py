"""Benchmark personalized PageRank on the MuSiQue graph; prints one JSON object.

For seed sets of 1-4 random entity nodes (weights uniform, fixed RNG seed), measured in
one run on this machine:

* kglink ``personalized_pagerank`` per query (the matrix is built once; its build time is
  reported separately) and per query when all seed sets run as one ``[n, b]`` batch;
* python-igraph ``Graph.personalized_pagerank(implementation="prpack")`` per query, on
  the graph converted once (``pip install python-igraph``, in the ``dev`` extra);
* ``networkx.pagerank`` on the first 5 seed sets (at kglink's ``tol``);
* the max abs difference of kglink's scores from igraph's and from networkx's.

kglink runs at its default ``tol``. igraph's prpack uses OpenMP, which slows down badly
when other processes hold the cores; ``OMP_NUM_THREADS=1`` gives it one thread, like
kglink (the value is reported). Usage:
``python benchmarks/bench_ppr.py [--graph graphs/musique] [--queries 100] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import time
from pathlib import Path

import networkx as nx
import numpy as np

from kglink.graph import KnowledgeGraph
from kglink.ppr import graph_matrix, personalized_pagerank, seed_vector

ROOT = Path(__file__).resolve().parents[1]
DAMPING = 0.5
TOL = inspect.signature(personalized_pagerank).parameters["tol"].default
NETWORKX_QUERIES = 5


def latencies_ms(fn, inputs: list) -> tuple[list, dict]:
    """Results of ``fn`` on each input, with the median and p95 latency in ms (after a warm-up)."""
    fn(inputs[0])
    outputs, times = [], []
    for item in inputs:
        start = time.perf_counter()
        outputs.append(fn(item))
        times.append((time.perf_counter() - start) * 1e3)
    return outputs, {"median_ms": statistics.median(times), "p95_ms": float(np.percentile(times, 95))}


def max_abs_diff(a, b) -> float:
    return float(np.abs(np.asarray(a) - np.asarray(b)).max())


def seed_sets(graph: nx.Graph, count: int, seed: int) -> list[dict[str, float]]:
    entities = sorted(n for n, kind in graph.nodes(data="kind") if kind == "entity")
    rng = np.random.default_rng(seed)
    sets = []
    for _ in range(count):
        chosen = rng.choice(len(entities), size=int(rng.integers(1, 5)), replace=False)
        sets.append({entities[i]: 1.0 for i in chosen})
    return sets


def to_igraph(matrix):
    import igraph as ig

    upper = matrix.adjacency.tocoo()
    keep = upper.row <= upper.col
    edges = np.column_stack([upper.row[keep], upper.col[keep]]).tolist()
    return ig.Graph(n=len(matrix.nodes), edges=edges, edge_attrs={"weight": upper.data[keep].tolist()})


def run(folder: Path, queries: int, seed: int) -> dict:
    graph = KnowledgeGraph.load(folder).graph
    start = time.perf_counter()
    matrix = graph_matrix(graph)
    build_ms = (time.perf_counter() - start) * 1e3
    start = time.perf_counter()
    igraph = to_igraph(matrix)
    convert_ms = (time.perf_counter() - start) * 1e3
    seeds = seed_sets(graph, queries, seed)
    vectors = [seed_vector(matrix, s) for s in seeds]
    ours, ours_t = latencies_ms(lambda v: personalized_pagerank(matrix, v, damping=DAMPING), vectors)
    start = time.perf_counter()
    batch = personalized_pagerank(matrix, np.column_stack(vectors), damping=DAMPING)
    batch_ms = (time.perf_counter() - start) * 1e3 / queries

    def prpack(reset: list[float]) -> np.ndarray:
        options = {"directed": False, "damping": DAMPING, "weights": "weight", "implementation": "prpack"}
        return np.array(igraph.personalized_pagerank(vertices=None, reset=reset, **options))

    theirs, theirs_t = latencies_ms(prpack, [v.tolist() for v in vectors])

    def networkx(s: dict[str, float]) -> np.ndarray:
        scores = nx.pagerank(graph, alpha=DAMPING, personalization=s, tol=TOL, max_iter=1000)
        return np.array([scores[n] for n in matrix.nodes])

    nx_out, nx_t = latencies_ms(networkx, seeds[:NETWORKX_QUERIES])
    return {
        "graph": str(folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder),
        "nodes": len(matrix.nodes),
        "edges": graph.number_of_edges(),
        "queries": queries,
        "cpus": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "damping": DAMPING,
        "tol": TOL,
        "kglink_build_ms": build_ms,
        "kglink_median_ms": ours_t["median_ms"],
        "kglink_p95_ms": ours_t["p95_ms"],
        "kglink_batch_ms_per_query": batch_ms,
        "igraph_convert_ms": convert_ms,
        "igraph_median_ms": theirs_t["median_ms"],
        "igraph_p95_ms": theirs_t["p95_ms"],
        "networkx_queries": NETWORKX_QUERIES,
        "networkx_median_ms": nx_t["median_ms"],
        "networkx_p95_ms": nx_t["p95_ms"],
        "max_abs_diff_igraph": max_abs_diff(ours, theirs),
        "max_abs_diff_batch": max_abs_diff(ours, batch.T),
        "max_abs_diff_networkx": max_abs_diff(ours[:NETWORKX_QUERIES], nx_out),
        "igraph_over_kglink": theirs_t["median_ms"] / ours_t["median_ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", type=Path, default=ROOT / "graphs" / "musique")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        import igraph  # noqa: F401
    except ImportError:
        print(json.dumps({"skipped": "python-igraph is not installed; pip install python-igraph"}))
        return
    if not (args.graph / "graph.json").exists():
        print(json.dumps({"skipped": f"{args.graph} has no graph.json; build it with `kglink build`"}))
        return
    print(json.dumps(run(args.graph.resolve(), args.queries, args.seed), indent=1))


if __name__ == "__main__":
    main()
