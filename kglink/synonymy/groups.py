"""Gold synonym sets: concept id → the names that denote it, with how often each was seen.

Three sources give the same structure, a :data:`Groups` mapping:

* PubTator corpora (NCBI-disease, BC5CDR): mention lines ``PMID<TAB>start<TAB>end<TAB>
  mention<TAB>type<TAB>concept_id``; composite ids (``+`` or ``|``) and ``-1`` are dropped;
* JSONL groups: one ``{"id": ..., "names": [...]}`` per line;
* pairs (TSV ``name<TAB>name`` or JSONL ``["a", "b"]`` / ``{"a": ..., "b": ...}``): names
  joined by a chain of pairs form one group.

Names are keyed by :func:`kglink.text.normalize_name`, as graph nodes are.

>>> pairs = [("Heart attack", "MI"), ("MI", "myocardial infarction"), ("flu", "influenza")]
>>> groups = groups_from_pairs(pairs)
>>> sorted(sorted(names) for names in groups.values())
[['flu', 'influenza'], ['heart attack', 'mi', 'myocardial infarction']]
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterable

from kglink.artifacts import read_jsonl, read_text
from kglink.errors import InputError
from kglink.text import normalize_name

Groups = dict[str, Counter]  # concept id -> Counter(normalised name -> mentions)


def load_pubtator(path: str | os.PathLike) -> Groups:
    """Concept groups from a PubTator file; composite and unlinked (``-1``) ids are skipped."""
    groups: Groups = {}
    for lineno, line in enumerate(_read_lines(path), 1):
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 6 or "|t|" in line[:30] or parts[1] == "CID":
            continue
        concept, name = parts[5].replace(" ", ""), normalize_name(parts[3])
        if not parts[1].isdigit():
            raise InputError(f"{path}:{lineno}: expected a PubTator mention line, got {line[:60]!r}")
        if concept in ("", "-1") or "+" in concept or "|" in concept or not name:
            continue
        groups.setdefault(concept, Counter())[name] += 1
    if not groups:
        raise InputError(f"{path} holds no PubTator mention lines with concept ids")
    return groups


def load_groups(path: str | os.PathLike) -> Groups:
    """Concept groups from JSONL lines ``{"id": ..., "names": [...]}``."""
    groups: Groups = {}
    for lineno, rec in read_jsonl(path):
        if not isinstance(rec, dict) or not isinstance(rec.get("names"), list) or "id" not in rec:
            raise InputError(f'{path}:{lineno}: expected {{"id": ..., "names": [...]}}')
        names = groups.setdefault(str(rec["id"]), Counter())
        names.update(n for n in (normalize_name(str(x)) for x in rec["names"]) if n)
    return groups


def load_pairs(path: str | os.PathLike) -> Groups:
    """Groups from synonym pairs: TSV ``a<TAB>b`` or JSONL ``["a", "b"]`` / ``{"a", "b"}``."""
    first = next((line for line in _read_lines(path) if line.strip()), "")
    if first.lstrip().startswith(("{", "[")):
        pairs = [_pair(rec, path, lineno) for lineno, rec in read_jsonl(path)]
    else:
        pairs = []
        for lineno, line in enumerate(_read_lines(path), 1):
            if line.strip():
                pairs.append(_pair(line.rstrip("\n").split("\t"), path, lineno))
    return groups_from_pairs(pairs)


def groups_from_pairs(pairs: Iterable[tuple[str, str]]) -> Groups:
    """Join names linked by a chain of pairs into groups (union-find), ids ``pairs-N``."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    counts: Counter = Counter()
    for a, b in pairs:
        a, b = normalize_name(a), normalize_name(b)
        if a and b:
            counts.update((a, b))
            parent[root(a)] = root(b)
    by_root: dict[str, Counter] = {}
    for name, n in counts.items():
        by_root.setdefault(root(name), Counter())[name] = n
    return {f"pairs-{i}": names for i, names in enumerate(by_root.values())}


def load_synsets(path: str | os.PathLike) -> Groups:
    """Any of the three formats, told apart by the first non-empty line.

    A JSON object with ``"names"`` is a groups file, other JSON a pairs file; a tab line
    with six or more fields (or a ``|t|`` title line) is PubTator, with two a TSV pair.
    """
    first = next((line for line in _read_lines(path) if line.strip()), "")
    if first.lstrip().startswith(("{", "[")):
        return load_groups(path) if '"names"' in first else load_pairs(path)
    if "|t|" in first or len(first.split("\t")) >= 6:
        return load_pubtator(path)
    if len(first.split("\t")) == 2:
        return load_pairs(path)
    raise InputError(f"{path}: not PubTator, JSONL groups or synonym pairs; see `kglink train --help`")


def merge_groups(*sources: Groups) -> Groups:
    """One mapping from several; groups with the same id are joined (e.g. MeSH ids)."""
    merged: Groups = {}
    for groups in sources:
        for concept, names in groups.items():
            merged.setdefault(concept, Counter()).update(names)
    return merged


def split_dev(groups: Groups, fraction: float, seed: int = 0, minimum: int = 10) -> tuple[Groups, Groups]:
    """Split off ``fraction`` of the multi-name groups (a random, seeded sample) as a dev set.

    One-name groups stay in training (they only serve as negatives). Returns
    ``(train, held)``; ``held`` is empty when it would have fewer than ``minimum`` groups.

    >>> train, held = split_dev({f"c{i}": Counter({f"a{i}": 1, f"b{i}": 1}) for i in range(20)}, 0.5)
    >>> len(train), len(held), set(train).isdisjoint(held)
    (10, 10, True)
    """
    multi = sorted(c for c, names in groups.items() if len(names) > 1)
    n = int(len(multi) * fraction)
    if n < minimum:
        return groups, {}
    held = set(random.Random(seed).sample(multi, n))
    return {c: g for c, g in groups.items() if c not in held}, {c: groups[c] for c in sorted(held)}


def name_concepts(groups: Groups) -> dict[str, frozenset[str]]:
    """Each name's concept ids (a name may denote several concepts)."""
    out: dict[str, set[str]] = {}
    for concept, names in groups.items():
        for name in names:
            out.setdefault(name, set()).add(concept)
    return {name: frozenset(ids) for name, ids in out.items()}


def _pair(rec: object, path: str | os.PathLike, lineno: int) -> tuple[str, str]:
    if isinstance(rec, dict):
        rec = [rec.get("a"), rec.get("b")]
    if not isinstance(rec, list) or len(rec) != 2 or not all(isinstance(x, str) and x.strip() for x in rec):
        raise InputError(f"{path}:{lineno}: expected a pair of two names (TSV a<TAB>b, or JSON [a, b])")
    return rec[0], rec[1]


def _read_lines(path: str | os.PathLike) -> list[str]:
    return read_text(path, "synonym file").splitlines()
