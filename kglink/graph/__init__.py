"""The knowledge graph: entity and passage nodes, relation, mention and synonym edges (networkx only).

- :mod:`~kglink.graph.knowledge_graph`: :class:`KnowledgeGraph`, built from OpenIE
  records, merged, saved and loaded;
- :mod:`~kglink.graph.export`: GraphML for other tools.

Nothing here imports torch: the graph is plain Python and networkx.
"""

from kglink.graph.export import export_graphml
from kglink.graph.knowledge_graph import (
    CONFIG_FILE,
    ENTITY_PREFIX,
    GRAPH_FILE,
    PASSAGE_PREFIX,
    KnowledgeGraph,
)

__all__ = ["CONFIG_FILE", "ENTITY_PREFIX", "GRAPH_FILE", "PASSAGE_PREFIX", "KnowledgeGraph", "export_graphml"]
