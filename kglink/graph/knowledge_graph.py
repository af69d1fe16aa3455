"""The knowledge graph: entity and passage nodes in one undirected ``networkx.Graph``.

Node keys are readable strings: ``"e:" + normalize_name(name)`` for an entity and
``"p:" + passage id`` for a passage; the node attribute ``kind`` is ``"entity"`` or
``"passage"``. Edges have a ``kind`` too:

* ``"relation"`` between two entities that share OpenIE triples: ``predicates``
  (sorted distinct, either direction), ``count`` (triples), ``passages``, ``weight = count``;
* ``"mention"`` between a passage and each entity in it, ``weight = 1.0``;
* ``"synonym"`` between two entities judged synonyms: ``score``, ``weight = score``.

A ``Graph`` holds one edge per pair, so a synonym pair that already has a relation
edge keeps ``kind="relation"`` (and its weight) and gets a ``synonym_score``
attribute instead; :meth:`KnowledgeGraph.synonyms` reports both forms.

>>> from kglink.corpus import OpenIEData, OpenIEDoc, Passage
>>> doc = OpenIEDoc(Passage("p1", "", "Ann met Bob."), ("Ann",), (("Ann", "met", "Bob"),))
>>> kg = KnowledgeGraph.from_openie(OpenIEData((doc,), "v1", 0))
>>> kg.entity_names()
['ann', 'bob']
>>> kg.graph.edges["e:ann", "e:bob"]["predicates"]
['met']
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import networkx as nx

from kglink.artifacts import (
    REBUILD,
    atomic_write_json,
    read_artifact_json,
    read_config,
    read_folder,
    write_config,
    write_folder,
)
from kglink.corpus import OpenIEData
from kglink.errors import ArtifactError, InputError
from kglink.results import SynonymPair
from kglink.text import normalize_name

logger = logging.getLogger(__name__)

ENTITY_PREFIX = "e:"
PASSAGE_PREFIX = "p:"
GRAPH_FILE = "graph.json"
CONFIG_FILE = "graph_config.json"
# Passage nodes have an "id" attribute, so node keys are stored under "node", not "id".
_NODE_LINK = {"edges": "edges", "name": "node"}
_BUILD_COUNTS = ("malformed_triples", "skipped_triples", "skipped_names")


class KnowledgeGraph:
    """Entities, passages and the relation, mention and synonym edges between them.

    Parameters
    ----------
    graph : networkx.Graph, optional
        An existing graph in this module's layout; empty if omitted. Exposed as ``.graph``.
    """

    def __init__(self, graph: nx.Graph | None = None) -> None:
        self.graph = nx.Graph() if graph is None else graph

    def __repr__(self) -> str:
        s = self.stats()
        return f"KnowledgeGraph(entities={s['entities']}, passages={s['passages']})"

    @staticmethod
    def entity_node(name: str) -> str:
        """Node key of an entity name: ``"e:" + normalize_name(name)``.

        >>> KnowledgeGraph.entity_node("Leland Stanford Jr.")
        'e:leland stanford jr'
        """
        key = normalize_name(name)
        if not key:
            raise InputError(f"entity name {name!r} has no letters or digits; it has no node")
        return ENTITY_PREFIX + key

    @staticmethod
    def passage_node(passage_id: str) -> str:
        """Node key of a passage id: ``"p:" + passage_id``."""
        return PASSAGE_PREFIX + passage_id

    @classmethod
    def from_openie(cls, data: OpenIEData) -> KnowledgeGraph:
        """Build the graph from OpenIE docs.

        A doc's entities are its extracted entities plus the subjects and objects of
        its triples; names that normalise to ``""`` are skipped, and so are triples
        whose subject and object normalise to the same name (self-loops) or to ``""``.
        """
        kg = cls(_build(data))
        logger.info("built %r from %d docs", kg, len(data.docs))
        return kg

    def merge(self, other: KnowledgeGraph) -> list[str]:
        """Add ``other``'s passages, entities and edges; return the entity names that are new.

        Passages already present are left alone. Entities present in both get the union
        of their surface forms and passages; relation edges present in both add up their
        counts; a new relation over an existing synonym edge becomes a relation edge
        that keeps the score as ``synonym_score``.
        """
        g, new = self.graph, []
        for node, attrs in other.graph.nodes(data=True):
            mine = g.nodes.get(node)
            if mine is None:
                g.add_node(node, **attrs)
                new += [attrs["name"]] if attrs["kind"] == "entity" else []
            elif attrs["kind"] == "entity":
                for key in ("surface_forms", "passages"):
                    mine[key] = sorted(set(mine[key]) | set(attrs[key]))
        for u, v, attrs in other.graph.edges(data=True):
            mine = g.get_edge_data(u, v)
            if mine is None or attrs["kind"] == "mention":
                g.add_edge(u, v, **attrs)
            elif mine["kind"] == "synonym":
                g.add_edge(u, v, **{**attrs, "synonym_score": mine["score"]})
                del g.edges[u, v]["score"]
            elif attrs["kind"] == "relation":
                for key in ("predicates", "passages"):
                    mine[key] = sorted(set(mine[key]) | set(attrs[key]))
                mine["count"] += attrs["count"]
                mine["weight"] = float(mine["count"])
        for key in _BUILD_COUNTS:
            g.graph[key] = int(g.graph.get(key, 0)) + int(other.graph.graph.get(key, 0))
        return sorted(new)

    def entity_names(self) -> list[str]:
        """Normalised names of all entity nodes (keys without ``"e:"``), sorted."""
        return sorted(d["name"] for _, d in self.graph.nodes(data=True) if d["kind"] == "entity")

    def passage_ids(self) -> list[str]:
        """Ids of all passage nodes, sorted."""
        return sorted(d["id"] for _, d in self.graph.nodes(data=True) if d["kind"] == "passage")

    def extracted_passage_ids(self) -> list[str]:
        """Ids of the passages that have at least one entity, sorted."""
        g = self.graph
        return sorted(d["id"] for n, d in g.nodes(data=True) if d["kind"] == "passage" and g.degree(n))

    def add_synonyms(self, pairs: Iterable[SynonymPair]) -> int:
        """Add synonym edges (or ``synonym_score`` on relation edges); return edges touched.

        ``source`` and ``target`` are entity names as in :meth:`entity_names`. All pairs
        are checked before any is added; a pair given again overwrites its score.
        """
        pairs = list(pairs)
        keys = [self._synonym_key(pair, i) for i, pair in enumerate(pairs)]
        for (u, v), pair in zip(keys, pairs, strict=True):
            score = float(pair.score)
            edge = self.graph.get_edge_data(u, v)
            if edge is None:
                self.graph.add_edge(u, v, kind="synonym", score=score, weight=score)
            elif edge["kind"] == "relation":
                edge["synonym_score"] = score
            else:
                edge.update(score=score, weight=score)
        return len(set(keys))

    def _synonym_key(self, pair: SynonymPair, i: int) -> tuple[str, str]:
        if not isinstance(pair, SynonymPair):
            raise InputError(f"synonym pair #{i} is a {type(pair).__name__}, not a SynonymPair")
        score = pair.score
        if not isinstance(score, (int, float)) or not math.isfinite(score) or score < 0:
            raise InputError(
                f"synonym pair #{i} has score {score!r}; give a finite number >= 0 "
                "(it becomes an edge weight)"
            )
        u, v = self._known_entity(pair.source), self._known_entity(pair.target)
        if u == v:
            raise InputError(f"synonym pair #{i} links {pair.source!r} to itself; drop it")
        return (u, v) if u < v else (v, u)

    def _known_entity(self, name: str) -> str:
        key = self.entity_node(name)
        if self.graph.nodes.get(key, {}).get("kind") != "entity":
            raise InputError(f"entity {name!r} is not in the graph; use a name from entity_names()")
        return key

    def remove_entities(self, names: Sequence[str]) -> list[str]:
        """Remove entity nodes with every edge on them; returns their names.

        Every name is checked (it must be an entity of the graph) before any is removed.
        See :mod:`kglink.graph.edits`.
        """
        from kglink.graph.edits import remove_entities

        return remove_entities(self, names)

    def merge_entities(self, names: Sequence[str], into: str) -> dict:
        """Fold entity nodes into the entity ``into``: edges moved, lists united (:mod:`kglink.graph.edits`).

        Returns ``{"merged": [names], "into": name, "moved_edges": n, "dropped_edges": n}``.
        """
        from kglink.graph.edits import merge_entities

        return merge_entities(self, names, into)

    def remove_synonyms(self) -> int:
        """Drop every synonym edge and ``synonym_score``; return how many were removed."""
        pure = [(u, v) for u, v, k in self.graph.edges(data="kind") if k == "synonym"]
        self.graph.remove_edges_from(pure)
        tagged = [d for *_, d in self.graph.edges(data=True) if "synonym_score" in d]
        for d in tagged:
            del d["synonym_score"]
        return len(pure) + len(tagged)

    def synonym_edges(self, node: str | None = None) -> list[tuple[str, str, float]]:
        """``(u, v, score)`` node keys, ``u < v``, of synonym edges and of relation edges
        carrying a ``synonym_score`` (only those of node key ``node`` if given), sorted."""
        out = []
        for u, v, d in self.graph.edges(node, data=True) if node is not None else self.graph.edges(data=True):
            score = d.get("score") if d["kind"] == "synonym" else d.get("synonym_score")
            if score is not None:
                out.append((min(u, v), max(u, v), score))
        return sorted(out)

    def synonyms(self, name: str | None = None) -> list[SynonymPair]:
        """Synonym pairs (both edge forms) by entity name, optionally only those of ``name``."""
        key = None if name is None else self._known_entity(name)
        n = len(ENTITY_PREFIX)
        return [SynonymPair(u[n:], v[n:], s) for u, v, s in self.synonym_edges(key)]

    def stats(self) -> dict[str, int]:
        """Counts of nodes and edges by kind, plus what the build skipped.

        Keys: ``entities``, ``passages``, ``relation_edges``, ``mention_edges``,
        ``synonym_edges`` (edges of kind synonym), ``relation_synonyms`` (relation
        edges with a ``synonym_score``), ``triples`` (sum of relation counts),
        ``malformed_triples``, ``skipped_triples``, ``skipped_names``.
        """
        g = self.graph
        nodes = Counter(k for _, k in g.nodes(data="kind"))
        edges = Counter(k for *_, k in g.edges(data="kind"))
        return {
            "entities": nodes["entity"],
            "passages": nodes["passage"],
            "relation_edges": edges["relation"],
            "mention_edges": edges["mention"],
            "synonym_edges": edges["synonym"],
            "relation_synonyms": sum(1 for *_, x in g.edges(data="synonym_score") if x is not None),
            "triples": sum(c for *_, c in g.edges(data="count", default=0)),
            **{k: int(g.graph.get(k, 0)) for k in _BUILD_COUNTS},
        }

    def save(self, folder: str | os.PathLike) -> None:
        """Write ``graph.json`` (node-link JSON) and ``graph_config.json`` atomically.

        Read ``graph.json`` without kglink with::

            networkx.node_link_graph(json.load(f), edges="edges", name="node")

        (node keys sit under ``"node"`` because passage nodes have an ``id`` attribute).
        The folder is replaced all at once (see :mod:`kglink.artifacts`); one that holds a
        whole graph bundle is refused, as this save would drop its indexes.
        """
        with write_folder(folder, "knowledge_graph", only=frozenset({GRAPH_FILE, CONFIG_FILE})) as tmp:
            self.write(tmp)
        logger.info("saved %r to %s", self, folder)

    def write(self, folder: Path) -> None:
        """Write the graph's two files into ``folder`` as they are (:meth:`save` makes it atomic)."""
        data = nx.node_link_data(self.graph, **_NODE_LINK)
        atomic_write_json(folder / GRAPH_FILE, data, indent=None)
        write_config(folder / CONFIG_FILE, "knowledge_graph")

    @classmethod
    def load(cls, folder: str | os.PathLike) -> KnowledgeGraph:
        """Load a graph written by :meth:`save`.

        Raises
        ------
        ArtifactError
            If the folder or a file is missing, corrupt, or of another format version.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise ArtifactError(f"graph folder {folder} not found; build it with `kglink build`")
        return read_folder(folder, cls.read)

    @classmethod
    def read(cls, folder: Path) -> KnowledgeGraph:
        """Read the graph's files from ``folder`` as they are (:meth:`load` checks the folder first)."""
        read_config(folder / CONFIG_FILE, "knowledge_graph")
        data = read_artifact_json(folder / GRAPH_FILE, "graph file")
        try:
            graph = nx.node_link_graph(data, **_NODE_LINK)
            bad = [n for n, k in graph.nodes(data="kind") if k not in ("entity", "passage")]
        except (KeyError, TypeError, AttributeError, ValueError, nx.NetworkXError) as e:
            raise ArtifactError(f"{folder / GRAPH_FILE} is corrupt ({e!r}); {REBUILD}") from None
        if bad or graph.is_directed() or graph.is_multigraph():
            raise ArtifactError(f"{folder / GRAPH_FILE} is not a kglink graph; {REBUILD}")
        return cls(graph)

    def export_graphml(self, path: str | os.PathLike) -> None:
        """Write the graph as GraphML, atomically (see :func:`kglink.graph.export.export_graphml`)."""
        from kglink.graph.export import export_graphml

        export_graphml(self, path)


def _build(data: OpenIEData) -> nx.Graph:
    """Passage nodes, entity nodes with their mention edges, then relation edges."""
    graph = nx.Graph(layout=data.layout, malformed_triples=data.malformed_triples)
    names: dict[str, list[tuple[str, str]]] = defaultdict(list)  # key -> [(surface, pid)]
    relations: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)  # [(pred, pid)]
    skipped = 0
    for doc in data.docs:
        p = doc.passage
        graph.add_node(PASSAGE_PREFIX + p.id, kind="passage", id=p.id, title=p.title, text=p.text)
        surfaces = list(doc.entities)
        for s, predicate, o in doc.triples:
            a, b = sorted((normalize_name(s), normalize_name(o)))
            if a and a != b:
                relations[a, b].append((predicate, p.id))
                surfaces += [s, o]
            else:
                skipped += 1
        for surface in surfaces:
            names[normalize_name(surface)].append((surface, p.id))
    skipped_names = len(names.pop("", []))
    mentions = []
    for key, seen in sorted(names.items()):
        node, forms, passages = ENTITY_PREFIX + key, _distinct(seen, 0), _distinct(seen, 1)
        graph.add_node(node, kind="entity", name=key, surface_forms=forms, passages=passages)
        mentions += [(PASSAGE_PREFIX + pid, node) for pid in passages]
    graph.add_edges_from(mentions, kind="mention", weight=1.0)
    for (a, b), seen in sorted(relations.items()):
        count, ends = len(seen), (ENTITY_PREFIX + a, ENTITY_PREFIX + b)
        attrs = {"predicates": _distinct(seen, 0), "count": count, "passages": _distinct(seen, 1)}
        graph.add_edge(*ends, kind="relation", weight=float(count), **attrs)
    graph.graph.update(skipped_triples=skipped, skipped_names=skipped_names)
    return graph


def _distinct(pairs: list[tuple[str, str]], i: int) -> list[str]:
    return sorted({pair[i] for pair in pairs})
