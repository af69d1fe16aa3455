"""The graph written for other tools: GraphML for Gephi, Cytoscape and networkx.

>>> import os, tempfile, networkx as nx
>>> from kglink.corpus import OpenIEData, OpenIEDoc, Passage
>>> doc = OpenIEDoc(Passage("p1", "", "Ann met Bob."), ("Ann",), (("Ann", "met", "Bob"),))
>>> path = os.path.join(tempfile.mkdtemp(), "g.graphml")
>>> export_graphml(KnowledgeGraph.from_openie(OpenIEData((doc,), "v1", 0)), path)
>>> nx.read_graphml(path).edges["e:ann", "e:bob"]["predicates"]
'["met"]'
"""

from __future__ import annotations

import io
import json
import os
import re
from typing import Any

import networkx as nx

from kglink.artifacts import atomic_write_bytes
from kglink.graph.knowledge_graph import KnowledgeGraph

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def export_graphml(kg: KnowledgeGraph, path: str | os.PathLike) -> None:
    """Write the graph as GraphML (for Gephi, Cytoscape, ...) atomically.

    GraphML has no list type, so list attributes (``surface_forms``, ``passages``,
    ``predicates``) are JSON-encoded strings; ``networkx.read_graphml(path)`` reads
    the file back and ``json.loads`` restores them. Characters XML cannot hold
    (control characters other than tab and newlines) become U+FFFD.
    """
    copy = kg.graph.copy()
    nodes, edges = copy.nodes(data=True), copy.edges(data=True)
    for attrs in [copy.graph, *(d for _, d in nodes), *(d for *_, d in edges)]:
        _graphml_safe(attrs)
    buf = io.BytesIO()
    nx.write_graphml(copy, buf)
    atomic_write_bytes(path, buf.getvalue())


def _graphml_safe(attrs: dict[str, Any]) -> None:
    """JSON-encode lists and replace characters XML 1.0 cannot hold, in place."""
    for k, v in attrs.items():
        if isinstance(v, (list, tuple, dict)):
            v = json.dumps(v, ensure_ascii=False)
        attrs[k] = _XML_INVALID.sub("\ufffd", v) if isinstance(v, str) else v
