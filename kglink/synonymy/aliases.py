"""Self-supervised synonyms: aliases people really write, made from a graph's own names.

Each rule turns one name into another way of writing the same thing; a name and its
aliases form one training group (no labels needed). Names are normalised (lowercase,
alphanumerics and spaces), as graph nodes are.

>>> sorted(aliases("american psychological association"))
['apa']
>>> sorted(aliases("university of chicago"))
['chicago university', 'uc']
>>> sorted(aliases("g stanley hall"))
['gsh', 'stanley hall']
>>> sorted(aliases("heart attack"))  # two words: an initialism would be noise
[]
>>> sorted(aliases("president john f kennedy"))
['jfk', 'john f kennedy', 'john kennedy', 'president john kennedy']
>>> sorted(aliases("grimm brothers"))
['grimm brother']
"""

from __future__ import annotations

import os
import random
from collections import Counter

from kglink.text import normalize_name

TITLES = frozenset(
    "the dr mr mrs ms miss sir dame lord lady saint st king queen prince princess pope president "
    "general gen captain capt senator sen governor gov prof professor rev reverend judge justice".split()
)
SUFFIXES = frozenset("inc ltd llc corp corporation co company plc jr sr".split())
LINKS = frozenset("of and for the in on at to".split())


def aliases(name: str) -> set[str]:
    """Other ways to write ``name``: initialism, without a title / suffix / initials, "X of Y" as
    "Y X", singular of a plural. Aliases too short to mean anything (one letter) are dropped."""
    words = name.split()
    found: set[str] = set()
    if words and words[0] in TITLES and len(words) > 1:
        found.add(" ".join(words[1:]))
    if words and words[-1] in SUFFIXES and len(words) > 1:
        found.add(" ".join(words[:-1]))
    for form in [name, *found]:
        found |= _without_initials(form.split())
    content = [w for w in words if w not in LINKS and w not in TITLES]
    if (
        (len(content) >= 3 or len(content) < len(words) - (words[0] in TITLES))
        and len(content) <= 6
        and all(w.isalpha() for w in content)
    ):
        found.add("".join(w[0] for w in content))
    if "of" in words and 0 < words.index("of") < len(words) - 1 and len(words) <= 5:
        i = words.index("of")
        found.add(" ".join(words[i + 1 :] + words[:i]))
    singular = _singular(words[-1]) if words else None
    if singular and len(words) <= 4:
        found.add(" ".join(words[:-1] + [singular]))
    return {a for a in found if a != name and len(a.replace(" ", "")) > 1}


def _without_initials(words: list[str]) -> set[str]:
    """Drop one-letter initials from a 3-4 word name: "g stanley hall", "john f kennedy"."""
    kept = [w for w in words if len(w) > 1 or not w.isalpha()]
    if 3 <= len(words) <= 4 and 2 <= len(kept) < len(words):
        return {" ".join(kept)}
    return set()


def _singular(word: str) -> str | None:
    """Singular of an English plural ("brothers", "allies"); ``None`` for other words."""
    if not word.isalpha() or len(word) < 4 or word.endswith(("ss", "us", "is")):
        return None
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") else None


def alias_groups(names: list[str], surface_forms: dict[str, list[str]] | None = None) -> dict[str, Counter]:
    """One group per name that has aliases (plus hyphen-joined surface forms, "coca cola" ↔ "cocacola")."""
    groups: dict[str, Counter] = {}
    for name in names:
        found = aliases(name)
        for surface in (surface_forms or {}).get(name, []):
            if "-" in surface:
                found.add(normalize_name(surface.replace("-", "")))
        found.discard(name)
        if found:
            groups[f"alias:{name}"] = Counter([name, *sorted(found)])
    return groups


def graph_alias_groups(
    folder: str | os.PathLike, limit: int | None = None, seed: int = 0
) -> dict[str, Counter]:
    """:func:`alias_groups` over the entity names of a saved graph, plus the other names as
    one-name groups (a pool of negatives); ``limit`` keeps a random sample of each kind."""
    from kglink.graph import KnowledgeGraph

    graph = KnowledgeGraph.load(folder).graph
    entities = {
        a["name"]: a.get("surface_forms", []) for _, a in graph.nodes(data=True) if a.get("kind") == "entity"
    }
    groups = alias_groups(sorted(entities), entities)
    named = {n for names in groups.values() for n in names}
    singles = {f"node:{n}": Counter([n]) for n in sorted(entities) if n not in named}
    if limit is not None:
        rng = random.Random(seed)
        groups = {k: groups[k] for k in sorted(rng.sample(sorted(groups), min(limit, len(groups))))}
        singles = {k: singles[k] for k in sorted(rng.sample(sorted(singles), min(limit, len(singles))))}
    return {**groups, **singles}
