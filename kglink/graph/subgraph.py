"""Bounded subgraphs to look at: an entity's neighbourhood, and the part of the graph a question walked.

Nothing here ever returns the whole graph: a breadth-first search stops at ``hops`` and at
``max_nodes`` (both capped by :data:`MAX_HOPS` and :data:`MAX_NODES`), neighbours taken
strongest edge first. :func:`node_link` turns a :class:`Subgraph` into node-link JSON
(the layout ``networkx.node_link_data`` writes, ``"edges"`` for the links) with each
node's kind and name or title and each edge's kind, predicates and synonym score; the
server's ``/subgraph`` route, the explorer page and ``kglink export --format html`` all
draw that JSON.

>>> from kglink.corpus import OpenIEData, OpenIEDoc, Passage
>>> from kglink.graph import KnowledgeGraph
>>> doc = OpenIEDoc(Passage("p1", "Ann", "Ann met Bob."), ("Ann",), (("Ann", "met", "Bob"),))
>>> kg = KnowledgeGraph.from_openie(OpenIEData((doc,), "v1", 0))
>>> sub = neighbourhood(kg, "Ann", hops=1)
>>> sub.nodes
('e:ann', 'e:bob', 'p:p1')
>>> sorted(e["kind"] for e in node_link(kg, sub)["edges"])
['mention', 'mention', 'relation']
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import networkx as nx

from kglink.errors import InputError
from kglink.graph.knowledge_graph import ENTITY_PREFIX, PASSAGE_PREFIX, KnowledgeGraph
from kglink.results import PassageHit
from kglink.text import normalize_name

logger = logging.getLogger(__name__)

MAX_HOPS = 4
MAX_NODES = 500
OPENING_CHARS = 160


@dataclass(frozen=True)
class Subgraph:
    """Node keys of a bounded subgraph, in the order they were reached, and why each is there.

    ``hops`` maps a node to its distance from the nearest start; ``roles`` marks the
    ``"center"``, the question's ``"seed"`` entities and its ``"retrieved"`` passages;
    ``truncated`` says ``max_nodes`` cut the search short.
    """

    nodes: tuple[str, ...]
    hops: dict[str, int] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    truncated: bool = False


def resolve_node(kg: KnowledgeGraph, node: str) -> str:
    """The node key of ``node``: a key as it is (``"e:..."``, ``"p:..."``) or an entity name.

    >>> from kglink.graph import KnowledgeGraph
    >>> kg = KnowledgeGraph(); kg.graph.add_node("e:ann", kind="entity", name="ann")
    >>> resolve_node(kg, "Ann"), resolve_node(kg, "e:ann")
    ('e:ann', 'e:ann')
    """
    if not isinstance(node, str) or not node.strip():
        raise InputError(f"node must be an entity name or a node key, got {node!r}")
    if node in kg.graph:
        return node
    key = ENTITY_PREFIX + normalize_name(node)
    if key in kg.graph:
        return key
    raise InputError(f"no node {node!r} in the graph; give an entity name or a key such as 'e:name'")


def check_bounds(hops: int, max_nodes: int) -> None:
    """Refuse hops outside ``0..MAX_HOPS`` and max_nodes outside ``1..MAX_NODES``."""
    if isinstance(hops, bool) or not isinstance(hops, int) or not 0 <= hops <= MAX_HOPS:
        raise InputError(f"hops must be an integer from 0 to {MAX_HOPS}, got {hops!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or not 1 <= max_nodes <= MAX_NODES:
        raise InputError(f"max_nodes must be an integer from 1 to {MAX_NODES}, got {max_nodes!r}")


def bounded_bfs(graph: nx.Graph, starts: Sequence[str], hops: int, max_nodes: int) -> tuple[dict, bool]:
    """``({node: distance}, truncated)``: breadth-first from ``starts``, strongest edges first.

    A plain loop, on purpose: it looks at the neighbours of at most ``max_nodes`` nodes.
    """
    check_bounds(hops, max_nodes)
    seen: dict[str, int] = {}
    for s in starts[:max_nodes]:
        seen.setdefault(s, 0)
    frontier = deque(seen)
    while frontier:
        node = frontier.popleft()
        if seen[node] >= hops:
            continue
        for other in _by_strength(graph, node):
            if other in seen:
                continue
            if len(seen) >= max_nodes:
                return seen, True
            seen[other] = seen[node] + 1
            frontier.append(other)
    return seen, len(starts) > max_nodes


def neighbourhood(kg: KnowledgeGraph, node: str, hops: int = 1, max_nodes: int = 60) -> Subgraph:
    """The nodes within ``hops`` edges of ``node`` (an entity name or node key), at most ``max_nodes``."""
    center = resolve_node(kg, node)
    seen, truncated = bounded_bfs(kg.graph, [center], hops, max_nodes)
    if truncated:
        logger.info("the %d-hop subgraph of %s was cut at %d nodes", hops, center, max_nodes)
    return Subgraph(tuple(seen), seen, {center: "center"}, truncated)


def retrieval_subgraph(
    kg: KnowledgeGraph, hits: Iterable[PassageHit], hops: int = 3, max_nodes: int = 80
) -> Subgraph:
    """The seeds of ``hits``, the retrieved passages, and shortest paths (``<= hops``) joining them.

    Each passage is joined to its nearest seed by one shortest path over every edge kind;
    a passage no seed reaches within ``hops`` (a dense hit) stands alone. Seeds and
    passages come first, then path nodes, until ``max_nodes``.
    """
    check_bounds(hops, max_nodes)
    hits = list(hits)
    seeds = list(dict.fromkeys(s.node for h in hits for s in h.seeds if s.node in kg.graph))
    passages = list(dict.fromkeys(PASSAGE_PREFIX + h.passage_id for h in hits))
    passages = [p for p in passages if p in kg.graph]
    roles = {**{s: "seed" for s in seeds}, **{p: "retrieved" for p in passages}}
    parent = _paths_from(kg.graph, seeds, set(passages), hops)
    chosen = dict.fromkeys([*seeds, *passages])
    for p in passages:
        chosen.update(dict.fromkeys(_path(parent, p)))
    nodes = list(chosen)
    truncated = len(nodes) > max_nodes
    nodes = nodes[:max_nodes]
    depth = {n: parent[n][1] if n in parent else 0 for n in nodes}
    return Subgraph(tuple(nodes), depth, roles, truncated)


def _paths_from(graph: nx.Graph, seeds: Sequence[str], targets: set[str], hops: int) -> dict:
    """``{node: (parent, distance)}`` of a breadth-first search from all seeds, stopped once every
    target is reached or at ``hops``."""
    parent: dict[str, tuple[str | None, int]] = {s: (None, 0) for s in seeds}
    frontier, left = list(seeds), targets - set(seeds)
    for depth in range(1, hops + 1):
        if not left or not frontier:
            break
        nxt = []
        for node in frontier:
            if node.startswith(PASSAGE_PREFIX) and node not in seeds:
                continue  # paths go through entities; a passage is an end
            for other in graph.neighbors(node):
                if other not in parent:
                    parent[other] = (node, depth)
                    nxt.append(other)
                    left.discard(other)
        frontier = nxt
    return parent


def _path(parent: dict, node: str) -> list[str]:
    out = []
    while node in parent and node is not None:
        out.append(node)
        node = parent[node][0]
    return out[::-1] if out and parent[out[-1]][0] is None else []


def _by_strength(graph: nx.Graph, node: str) -> list[str]:
    """Neighbours of ``node``: relation and synonym edges before mentions, heavier first."""
    rank = {"synonym": 0, "relation": 1, "mention": 2}
    adj = graph.adj[node]
    return sorted(adj, key=lambda o: (rank.get(adj[o]["kind"], 3), -float(adj[o].get("weight", 0)), o))


def node_link(kg: KnowledgeGraph, sub: Subgraph) -> dict:
    """``sub`` as node-link JSON: nodes with kind, label and role; every edge among them with its kind."""
    graph = kg.graph
    nodes = [node_json(graph, n, sub.hops.get(n, 0), sub.roles.get(n, "")) for n in sub.nodes]
    inside = set(sub.nodes)
    edges = [
        edge_json(u, v, graph.edges[u, v]) for u in sub.nodes for v in graph.adj[u] if v in inside and u < v
    ]
    return {
        "directed": False,
        "multigraph": False,
        "graph": {"truncated": sub.truncated, "nodes": len(nodes), "edges": len(edges)},
        "nodes": nodes,
        "edges": edges,
    }


def node_json(graph: nx.Graph, node: str, hop: int = 0, role: str = "") -> dict:
    """One node for drawing: key, kind, label (entity name or passage title), a short text."""
    d = graph.nodes[node]
    out = {"id": node, "kind": d["kind"], "hop": hop, "role": role}
    if d["kind"] == "entity":
        out.update(label=d["name"], name=d["name"], surface_forms=list(d.get("surface_forms", [])))
    else:
        opening = opening_line(d.get("text", ""))
        out.update(label=d.get("title") or d["id"], title=d.get("title", ""), opening=opening)
    return out


def edge_json(u: str, v: str, d: dict) -> dict:
    """One edge for drawing: its ends, kind, and predicates (relation) or score (synonym)."""
    out = {"source": u, "target": v, "kind": d["kind"], "weight": float(d.get("weight", 1.0))}
    if d["kind"] == "relation":
        out.update(predicates=list(d.get("predicates", [])), count=int(d.get("count", 0)))
        if "synonym_score" in d:
            out["synonym_score"] = float(d["synonym_score"])
    elif d["kind"] == "synonym":
        out["score"] = float(d.get("score", 0.0))
    return out


def opening_line(text: str, limit: int = OPENING_CHARS) -> str:
    """The first line of ``text``, cut at ``limit`` characters with an ellipsis.

    >>> opening_line("A short one.\\nMore."), opening_line("x" * 10, limit=4)
    ('A short one.', 'xxx…')
    """
    first = (text or "").strip().split("\n", 1)[0]
    return first if len(first) <= limit else first[: limit - 1] + "…"
