"""A person's synonym decisions: pairs accepted or rejected, kept in the graph folder.

A decision outlives the scores: a rejected pair never comes back as a synonym edge
(``kglink build --update``, a rebuild and the server's ``/entities`` all apply the
decisions after scoring), an accepted pair stays an edge of score 1.0 whatever the model
says. Decisions are saved as ``synonym_decisions.json`` beside ``graph.json``, by
normalised name (``a < b``); the later decision on a pair replaces the earlier one.

>>> from kglink.corpus import OpenIEData, OpenIEDoc, Passage
>>> from kglink.graph import KnowledgeGraph
>>> doc = OpenIEDoc(Passage("p1", "", "Ann met Bob."), ("Ann", "Bob"), ())
>>> kg = KnowledgeGraph.from_openie(OpenIEData((doc,), "v1", 0))
>>> decisions = SynonymDecisions().decide(kg, accept=[("Ann", "Bob")])
>>> decisions.apply(kg), kg.synonyms()
(1, [SynonymPair(source='ann', target='bob', score=1.0)])
>>> decisions = decisions.decide(kg, reject=[("bob", "ann")])
>>> decisions.apply(kg), kg.synonyms()
(1, [])
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kglink.artifacts import atomic_write_json, read_artifact_json
from kglink.errors import ArtifactError, InputError
from kglink.graph.knowledge_graph import KnowledgeGraph
from kglink.results import SynonymPair
from kglink.text import normalize_name

logger = logging.getLogger(__name__)

DECISIONS_FILE = "synonym_decisions.json"
FORMAT_VERSION = 1
ACCEPTED_SCORE = 1.0


@dataclass(frozen=True)
class SynonymDecisions:
    """The pairs a person accepted and rejected, by normalised name, each ``(a, b)`` with ``a < b``."""

    accept: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    reject: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return bool(self.accept or self.reject)

    def decide(
        self,
        graph: KnowledgeGraph,
        accept: Iterable[Sequence[str]] = (),
        reject: Iterable[Sequence[str]] = (),
    ) -> SynonymDecisions:
        """These decisions with new ones added (both names of each pair must be entities of ``graph``).

        All pairs are checked before any is taken; a pair both accepted and rejected in one
        call is refused.
        """
        new_accept = {_pair(graph, p, i, "accept") for i, p in enumerate(accept)}
        new_reject = {_pair(graph, p, i, "reject") for i, p in enumerate(reject)}
        both = new_accept & new_reject
        if both:
            a, b = sorted(both)[0]
            raise InputError(f"pair ({a!r}, {b!r}) is both accepted and rejected; decide once")
        return SynonymDecisions(
            frozenset((self.accept - new_reject) | new_accept),
            frozenset((self.reject - new_accept) | new_reject),
        )

    def apply(self, graph: KnowledgeGraph) -> int:
        """Remove rejected synonym edges and add accepted ones; return the edges touched.

        Pairs whose names are no longer in the graph (after a rebuild) are skipped, and kept.
        """
        touched = sum(_drop_synonym(graph, a, b) for a, b in sorted(self.reject))
        present = [(a, b) for a, b in sorted(self.accept) if _has(graph, a) and _has(graph, b)]
        touched += graph.add_synonyms(SynonymPair(a, b, ACCEPTED_SCORE) for a, b in present)
        return touched

    def without(self, names: Iterable[str]) -> SynonymDecisions:
        """These decisions less every pair naming one of ``names`` (entities removed from the graph)."""
        gone = {normalize_name(n) for n in names}

        def keep(pairs):
            return frozenset(p for p in pairs if not gone & set(p))

        return SynonymDecisions(keep(self.accept), keep(self.reject))

    def renamed(self, names: Iterable[str], into: str) -> SynonymDecisions:
        """These decisions with ``names`` (entities merged into ``into``) read as ``into``.

        A pair that becomes ``(into, into)`` is dropped (the merge decided it); a pair that
        ends up both accepted and rejected stays rejected (a person said no to it once).
        """
        into = normalize_name(into)
        alias = dict.fromkeys((normalize_name(n) for n in names), into)

        def rename(pairs):
            out = {_key(alias.get(a, a), alias.get(b, b)) for a, b in pairs}
            return frozenset(p for p in out if p[0] != p[1])

        reject = rename(self.reject)
        return SynonymDecisions(rename(self.accept) - reject, reject)

    def write(self, folder: Path) -> None:
        """Write ``synonym_decisions.json`` into ``folder`` (inside a folder save: :mod:`kglink.bundle`)."""
        data = {
            "format_version": FORMAT_VERSION,
            "accept": sorted(self.accept),
            "reject": sorted(self.reject),
        }
        atomic_write_json(Path(folder) / DECISIONS_FILE, {k: _lists(v) for k, v in data.items()})

    @classmethod
    def read(cls, folder: Path) -> SynonymDecisions:
        """The decisions saved in ``folder``; none when it has no decisions file."""
        path = Path(folder) / DECISIONS_FILE
        if not path.is_file():
            return cls()
        data = read_artifact_json(path, "synonym decisions")
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            raise ArtifactError(
                f"{path} is not a kglink {FORMAT_VERSION} decisions file; restore or delete it"
            )
        try:
            return cls(*(frozenset(_key(*p) for p in data[k]) for k in ("accept", "reject")))
        except (KeyError, TypeError, ValueError):
            raise ArtifactError(
                f"{path} is damaged; restore it or delete it (the decisions are lost)"
            ) from None


def _pair(graph: KnowledgeGraph, pair: Sequence[str], i: int, what: str) -> tuple[str, str]:
    if isinstance(pair, str) or len(pair) != 2:
        raise InputError(f"{what} pair #{i} must be two entity names, got {pair!r}")
    for name in pair:
        graph._known_entity(name)  # the one check that a name is an entity of the graph
    a, b = _key(*pair)
    if a == b:
        raise InputError(f"{what} pair #{i} names one entity twice ({a!r}); give two")
    return a, b


def _key(a: str, b: str) -> tuple[str, str]:
    if not isinstance(a, str) or not isinstance(b, str):
        raise TypeError("names must be strings")
    a, b = normalize_name(a), normalize_name(b)
    return (a, b) if a < b else (b, a)


def _has(graph: KnowledgeGraph, name: str) -> bool:
    return graph.graph.nodes.get(KnowledgeGraph.entity_node(name), {}).get("kind") == "entity"


def _drop_synonym(graph: KnowledgeGraph, a: str, b: str) -> int:
    """Remove the synonym edge (or the ``synonym_score`` of a relation edge) between two names."""
    u, v = KnowledgeGraph.entity_node(a), KnowledgeGraph.entity_node(b)
    edge = graph.graph.get_edge_data(u, v)
    if edge is None:
        return 0
    if edge["kind"] == "synonym":
        graph.graph.remove_edge(u, v)
        return 1
    return int(edge.pop("synonym_score", None) is not None)


def _lists(value):
    return [list(p) for p in value] if isinstance(value, list) else value
