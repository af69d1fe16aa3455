"""Personalized PageRank as pure functions on a sparse matrix built once per graph.

:func:`graph_matrix` turns a graph into a :class:`GraphMatrix` (node order, weighted
adjacency and the transposed transition matrix, all precomputed), so that each
:func:`personalized_pagerank` query is only a few sparse products. The semantics are
those of ``networkx.pagerank``: the walk follows an edge with probability ``damping``
(chosen in proportion to edge weight) and otherwise jumps back to the seeds; a node
with no edge weight (dangling) jumps back to the seeds too. :func:`pagerank_reference`
is the slow networkx version, kept beside the fast one for tests.

>>> g = nx.Graph([("a", "b"), ("b", "c")])
>>> matrix = graph_matrix(g)
>>> scores = personalized_pagerank(matrix, seed_vector(matrix, {"a": 1.0}))
>>> print(scores.round(4))
[0.5833 0.3333 0.0833]
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse as sp

from kglink.errors import InputError

logger = logging.getLogger(__name__)

_SEED_HINT = "give at least one seed with positive weight"
_BLOCK = 32  # seed sets iterated together: one sparse mat-mat per step, still cache-sized


@dataclass(frozen=True, eq=False)
class GraphMatrix:
    """A graph as sparse matrices, in the node order of ``nodes``.

    Attributes
    ----------
    nodes : tuple
        Node keys; node ``nodes[i]`` is row and column ``i``.
    index : dict
        Node key -> row.
    adjacency : scipy.sparse.csr_matrix
        Symmetric ``[n, n]`` float64 edge weights (a self-loop counts once).
    out_weight : numpy.ndarray
        Row sums of ``adjacency`` (weighted degree).
    transition : scipy.sparse.csr_matrix
        ``T[i, j] = adjacency[j, i] / out_weight[j]``: column ``j`` is where a step from
        node ``j`` goes, so one step of the walk is ``T @ x``.
    dangling : numpy.ndarray
        Rows with zero out-weight, whose mass jumps back to the seeds.
    """

    nodes: tuple[Hashable, ...]
    index: dict[Hashable, int]
    adjacency: sp.csr_matrix
    out_weight: np.ndarray
    transition: sp.csr_matrix
    dangling: np.ndarray

    def __repr__(self) -> str:
        return f"GraphMatrix(nodes={len(self.nodes)}, nonzeros={self.adjacency.nnz})"


def graph_matrix(
    graph: nx.Graph, weight: str | None = "weight", edge_kinds: Collection[str] | None = None
) -> GraphMatrix:
    """Build the :class:`GraphMatrix` of an undirected graph, once per graph.

    Parameters
    ----------
    graph : networkx.Graph
        Undirected; an edge without the ``weight`` attribute weighs 1, as in networkx.
    weight : str or None
        Edge attribute holding the weight; ``None`` weighs every edge 1.
    edge_kinds : collection of str, optional
        Keep only edges whose ``kind`` attribute is one of these (a relation edge with a
        ``synonym_score`` is still a relation edge); ``None`` keeps every edge.

    >>> g = nx.Graph()
    >>> g.add_edge("a", "b", kind="relation", weight=2.0)
    >>> g.add_edge("b", "c", kind="synonym", weight=0.9)
    >>> graph_matrix(g, edge_kinds={"relation", "mention"}).out_weight.tolist()
    [2.0, 2.0, 0.0]
    """
    if graph.is_directed() or graph.is_multigraph():
        raise InputError("graph_matrix takes an undirected nx.Graph; convert it with nx.Graph(graph)")
    if isinstance(edge_kinds, str):
        raise InputError(f"edge_kinds={edge_kinds!r} is a string; give a set such as {{{edge_kinds!r}}}")
    nodes = tuple(graph)
    index = {node: i for i, node in enumerate(nodes)}
    rows, cols, weights = _edge_arrays(graph, index, weight)
    if edge_kinds is not None:
        kinds = set(edge_kinds)
        keep = np.fromiter((k in kinds for *_, k in graph.edges(data="kind")), bool, len(rows))
        rows, cols, weights = rows[keep], cols[keep], weights[keep]
    two_way = rows != cols  # an undirected self-loop is one entry, as in networkx
    data = np.concatenate([weights, weights[two_way]])
    ends = (np.concatenate([rows, cols[two_way]]), np.concatenate([cols, rows[two_way]]))
    n = len(nodes)
    adjacency = sp.csr_matrix((data, ends), shape=(n, n), dtype=np.float64)
    out_weight = np.asarray(adjacency.sum(axis=1)).ravel()
    inverse = np.divide(1.0, out_weight, out=np.zeros(n), where=out_weight > 0)
    transition = (sp.diags(inverse) @ adjacency).T.tocsr()
    dangling = np.flatnonzero(out_weight == 0)
    return GraphMatrix(nodes, index, adjacency, out_weight, transition, dangling)


def _edge_arrays(
    graph: nx.Graph, index: dict[Hashable, int], weight: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and weight arrays of the edges, in ``graph.edges()`` order."""
    m = graph.number_of_edges()
    ends = np.fromiter((index[x] for edge in graph.edges() for x in edge), np.int64, 2 * m)
    if weight is None:
        weights = np.ones(m)
    else:
        try:
            weights = np.fromiter((w for *_, w in graph.edges(data=weight, default=1.0)), np.float64, m)
        except (TypeError, ValueError):
            bad = f"edge attribute {weight!r} holds a non-number"
            raise InputError(f"{bad}; fix those edges or pass weight=None") from None
    if not (np.isfinite(weights).all() and (weights >= 0).all()):
        raise InputError(f"edge attribute {weight!r} must be finite and >= 0 on every edge; fix those edges")
    return ends[0::2], ends[1::2], weights


def seed_vector(matrix: GraphMatrix, seeds: Mapping[Hashable, float]) -> np.ndarray:
    """Personalization vector (length ``len(matrix.nodes)``) from ``{node: weight}``.

    >>> matrix = graph_matrix(nx.path_graph(3))
    >>> seed_vector(matrix, {0: 2.0, 2: 1.0}).tolist()
    [2.0, 0.0, 1.0]
    """
    missing = [node for node in seeds if node not in matrix.index]
    if missing:
        raise InputError(f"seed nodes {missing[:5]} are not in the graph; use keys from matrix.nodes")
    vector = np.zeros(len(matrix.nodes))
    vector[[matrix.index[node] for node in seeds]] = list(seeds.values())
    return vector


def personalized_pagerank(
    matrix: GraphMatrix,
    personalization: np.ndarray,
    damping: float = 0.5,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> np.ndarray:
    """PageRank restarting at the seeds, as ``networkx.pagerank(alpha=damping)``.

    Power iteration from the (normalised) personalization vector, stopping when the L1
    change of an iterate is below ``n * tol`` (networkx's test, per column), so the L1
    error is below ``n * tol * damping / (1 - damping)``. Starting at the seeds, not at
    the uniform vector as networkx does, keeps every node the seeds cannot reach at
    exactly 0.

    Parameters
    ----------
    matrix : GraphMatrix
        From :func:`graph_matrix`.
    personalization : numpy.ndarray
        ``[n]`` nonnegative seed weights in ``matrix.nodes`` order (see
        :func:`seed_vector`), or ``[n, b]`` to run ``b`` personalizations at once; each
        column is normalised to sum 1.
    damping : float
        Probability of following an edge rather than jumping back, in (0, 1).
    tol, max_iter : float, int
        Convergence tolerance per node and the most iterations. A column that has not
        converged after ``max_iter`` iterations is returned as its last iterate, with a
        logged warning (networkx raises instead).

    Returns
    -------
    numpy.ndarray
        Scores of the shape of ``personalization``; each column sums to 1.
    """
    seeds = _normalized_seeds(matrix, personalization)
    if not 0 < damping < 1:
        raise InputError(f"damping={damping!r}; give a probability strictly between 0 and 1, e.g. 0.5")
    if not tol > 0 or max_iter < 1:
        raise InputError(f"tol={tol!r}, max_iter={max_iter!r}; give tol > 0 and max_iter >= 1")
    scores = _power_iteration(matrix, seeds, damping, len(matrix.nodes) * tol, max_iter)
    return scores[:, 0] if np.ndim(personalization) == 1 else scores


def _normalized_seeds(matrix: GraphMatrix, personalization: np.ndarray) -> np.ndarray:
    """``[n, b]`` float64 columns summing to 1, or InputError."""
    try:
        p = np.array(personalization, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("personalization must be a numeric array of seed weights") from None
    n = len(matrix.nodes)
    if n == 0:
        raise InputError("the graph has no nodes, so no seeds; build the matrix from a non-empty graph")
    if p.ndim not in (1, 2) or p.shape[0] != n or p.size == 0:
        raise InputError(
            f"personalization has shape {p.shape}; give [{n}] or [{n}, b] weights in matrix.nodes order"
        )
    p = p[:, None] if p.ndim == 1 else p
    total = p.sum(axis=0)
    if not np.isfinite(p).all() or (p < 0).any() or not (total > 0).all():
        raise InputError(f"personalization weights must be finite and >= 0; {_SEED_HINT} (in every column)")
    return p / total


def _power_iteration(
    matrix: GraphMatrix, seeds: np.ndarray, damping: float, limit: float, max_iter: int
) -> np.ndarray:
    """Iterate blocks of ``_BLOCK`` columns (a block's iterates stay in cache)."""
    out = np.empty_like(seeds)
    unconverged = 0
    for start in range(0, seeds.shape[1], _BLOCK):
        part = slice(start, start + _BLOCK)
        out[:, part], left = _iterate_block(matrix, seeds[:, part], damping, limit, max_iter)
        unconverged += left
    if unconverged:
        logger.warning(
            "personalized PageRank did not converge in %d iterations for %d of %d seed sets; "
            "returning the last iterate (raise max_iter or tol)",
            max_iter,
            unconverged,
            seeds.shape[1],
        )
    return out


def _iterate_block(
    matrix: GraphMatrix, seeds: np.ndarray, damping: float, limit: float, max_iter: int
) -> tuple[np.ndarray, int]:
    """``x <- d (T x + dangling mass * p) + (1 - d) p``; a column leaves once it converges.

    Returns the scores and how many columns had not converged after ``max_iter``.
    """
    out = seeds.copy()
    rows = np.flatnonzero(seeds.any(axis=1))  # only the seed rows get the restart mass
    active, restart, x = np.arange(seeds.shape[1]), seeds[rows], seeds.copy()
    for _ in range(max_iter):
        jump = damping * x[matrix.dangling].sum(axis=0) + (1.0 - damping)
        new = matrix.transition @ x
        new *= damping
        new[rows] += jump * restart
        x -= new  # the old iterate becomes the change, in place
        done = np.abs(x, out=x).sum(axis=0) < limit
        x = new
        if done.any():
            out[:, active[done]] = x[:, done]
            active, x, restart = active[~done], x[:, ~done], restart[:, ~done]
            if active.size == 0:
                return out, 0
    out[:, active] = x
    return out, active.size


def pagerank_reference(
    graph: nx.Graph,
    personalization: Mapping[Hashable, float],
    damping: float = 0.5,
    weight: str | None = "weight",
) -> dict[Hashable, float]:
    """Slow reference: ``networkx.pagerank`` with a tight tolerance (for tests).

    Nodes missing from ``personalization`` get seed weight 0.

    >>> ref = pagerank_reference(nx.Graph([("a", "b"), ("b", "c")]), {"a": 1.0})
    >>> round(ref["a"], 4)
    0.5833
    """
    return nx.pagerank(
        graph, alpha=damping, personalization=dict(personalization), weight=weight, tol=1e-12, max_iter=1000
    )
