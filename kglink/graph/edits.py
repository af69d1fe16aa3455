"""Removing and merging entity nodes, with every edge and list that names them kept consistent.

:meth:`KnowledgeGraph.remove_entities` and :meth:`KnowledgeGraph.merge_entities` call
these. Removing an entity drops the node and every edge on it (mention, relation,
synonym); passage nodes stay. Merging folds each source node into ``into``:

* ``surface_forms`` and ``passages`` become the union;
* a mention edge moves to ``into`` (one per passage);
* a relation edge moves to ``into``; over an existing relation edge its ``predicates`` and
  ``passages`` are united and ``count`` summed (``weight = count``); over a synonym edge
  it becomes a relation edge keeping the score as ``synonym_score``;
* a synonym score moves to ``into`` and keeps the higher of two scores on one pair;
* edges between the merged nodes themselves would be self-loops and are dropped (their
  triples are counted in the graph's ``skipped_triples``, as the build counts self-loops).

>>> from kglink.corpus import OpenIEData, OpenIEDoc, Passage
>>> from kglink.graph import KnowledgeGraph
>>> docs = (
...     OpenIEDoc(Passage("p1", "", "NYC is big."), (), (("NYC", "is", "big city"),)),
...     OpenIEDoc(Passage("p2", "", "New York is big."), (), (("New York", "is", "big city"),)),
... )
>>> kg = KnowledgeGraph.from_openie(OpenIEData(docs, "v1", 0))
>>> kg.merge_entities(["NYC"], into="New York")
{'merged': ['nyc'], 'into': 'new york', 'moved_edges': 2, 'dropped_edges': 0}
>>> edge = kg.graph.edges["e:new york", "e:big city"]
>>> edge["count"], edge["passages"], kg.graph.nodes["e:new york"]["passages"]
(2, ['p1', 'p2'], ['p1', 'p2'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kglink.errors import InputError

if TYPE_CHECKING:
    from kglink.graph.knowledge_graph import KnowledgeGraph


def entity_keys(kg: KnowledgeGraph, names: Sequence[str], what: str = "id") -> list[str]:
    """Node keys of entity names (each must be an entity of the graph), in order, once each."""
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise InputError(f"give the entity {what}s as a list of names, got {type(names).__name__}")
    if not names:
        raise InputError(f"give at least one entity {what}")
    keys = []
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise InputError(f"entity {what} #{i} is a {type(name).__name__}, not a string")
        keys.append(kg._known_entity(name))
    return list(dict.fromkeys(keys))


def remove_entities(kg: KnowledgeGraph, names: Sequence[str]) -> list[str]:
    """Remove entity nodes and every edge on them; returns the removed names (checked first)."""
    keys = entity_keys(kg, names)
    removed = [kg.graph.nodes[k]["name"] for k in keys]
    kg.graph.remove_nodes_from(keys)
    return removed


def merge_entities(kg: KnowledgeGraph, names: Sequence[str], into: str) -> dict:
    """Fold the entity nodes ``names`` into the entity ``into`` (see the module docstring).

    ``into`` may be among ``names``; it is never removed. Returns the merged names, the
    target's name and how many edges were moved and dropped.
    """
    target = kg._known_entity(into)
    sources = [k for k in entity_keys(kg, names) if k != target]
    if not sources:
        raise InputError(f"nothing to merge: give ids other than the target {into!r}")
    g, merging = kg.graph, set(sources) | {target}
    moved = dropped = 0
    for source in sources:
        mine, theirs = g.nodes[target], g.nodes[source]
        for key in ("surface_forms", "passages"):
            mine[key] = sorted(set(mine[key]) | set(theirs[key]))
        for other, attrs in list(g[source].items()):
            if other in merging:
                dropped += 1
                skipped = attrs.get("count", 0) if attrs["kind"] == "relation" else 0
                g.graph["skipped_triples"] = int(g.graph.get("skipped_triples", 0)) + skipped
                continue
            _fold_edge(g, target, other, dict(attrs))
            moved += 1
        g.remove_node(source)
    merged = [k[len("e:") :] for k in sources]
    return {"merged": merged, "into": g.nodes[target]["name"], "moved_edges": moved, "dropped_edges": dropped}


def _fold_edge(g, target: str, other: str, attrs: dict) -> None:
    """Put the edge ``attrs`` (of a node being merged away) on ``(target, other)``."""
    mine = g.get_edge_data(target, other)
    if mine is None:
        g.add_edge(target, other, **attrs)
        return
    kind = attrs["kind"]
    if kind == "mention":  # a passage mentions the target already
        return
    score = _synonym_score(attrs)
    if kind == "relation" and mine["kind"] == "relation":
        for key in ("predicates", "passages"):
            mine[key] = sorted(set(mine[key]) | set(attrs[key]))
        mine["count"] += attrs["count"]
        mine["weight"] = float(mine["count"])
    elif kind == "relation":  # over a synonym edge: the relation edge keeps the score
        mine_score = mine["score"]
        g.add_edge(target, other, **attrs)
        g.edges[target, other].pop("score", None)
        score = max(mine_score, score) if score is not None else mine_score
    if score is None:
        return
    edge = g.edges[target, other]
    if edge["kind"] == "relation":
        edge["synonym_score"] = max(score, edge.get("synonym_score", score))
    else:
        best = max(score, edge["score"])
        edge.update(score=best, weight=best)


def _synonym_score(attrs: dict) -> float | None:
    return attrs.get("score") if attrs["kind"] == "synonym" else attrs.get("synonym_score")
