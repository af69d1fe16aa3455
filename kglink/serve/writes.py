"""The writes a server applies to a graph bundle (in the writer thread, on its copy).

Each is the library's own computation: :meth:`EntityIndex.add` for the names not yet
present, :meth:`EntityIndex.synonym_pairs` for new-vs-all pairs only,
:meth:`KnowledgeGraph.add_synonyms`, then the person's decisions
(:class:`~kglink.graph.curation.SynonymDecisions`), which outrank the scores.
"""

from __future__ import annotations

from collections.abc import Sequence

from kglink.bundle import GraphBundle
from kglink.checks import check_names
from kglink.graph import ENTITY_PREFIX
from kglink.text import normalize_name


def add_entities(bundle: GraphBundle, names: Sequence[str]) -> dict:
    """Add the names the graph lacks as entity nodes; new-vs-all synonym edges.

    Returns ``{"added": [node names], "synonyms": [SynonymPair]}``: the new nodes and the
    synonym edges made for them (after the decisions: a rejected pair is not among them).
    """
    names = check_names(names, "name")
    surfaces: dict[str, list[str]] = {}
    for name in names:
        surfaces.setdefault(normalize_name(name), []).append(name)
    new = bundle.entities.add(names, progress=False)  # checks every name before it adds any
    graph = bundle.graph.graph
    for key in new:
        node = ENTITY_PREFIX + key
        if node not in graph:
            graph.add_node(
                node, kind="entity", name=key, surface_forms=sorted(set(surfaces[key])), passages=[]
            )
    pairs = bundle.entities.synonym_pairs(nodes=new) if new else []
    bundle.graph.add_synonyms(pairs)
    bundle.decisions.apply(bundle.graph)
    kept = {(p.source, p.target) for key in new for p in bundle.graph.synonyms(key)}
    return {"added": new, "synonyms": [p for p in pairs if (p.source, p.target) in kept]}


def decide(bundle: GraphBundle, accept: Sequence[Sequence[str]], reject: Sequence[Sequence[str]]) -> dict:
    """Record a person's synonym decisions and apply them to the graph's edges."""
    bundle.decisions = bundle.decisions.decide(bundle.graph, accept=accept, reject=reject)
    touched = bundle.decisions.apply(bundle.graph)
    return {
        "accepted": len(bundle.decisions.accept),
        "rejected": len(bundle.decisions.reject),
        "touched": touched,
    }


def remove_entities(bundle: GraphBundle, ids: Sequence[str]) -> dict:
    """Remove entity nodes: :meth:`GraphBundle.remove_entities`."""
    return bundle.remove_entities(ids)


def merge_entities(bundle: GraphBundle, ids: Sequence[str], into: str) -> dict:
    """Merge entity nodes into ``into``: :meth:`GraphBundle.merge_entities`."""
    return bundle.merge_entities(ids, into)
