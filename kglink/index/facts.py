"""The fact index (HippoRAG 2): every relation triple a document, the question scored against them.

A fact ``(subject, predicate, object)`` is encoded as the text ``"subject predicate
object"`` with the same late-interaction model as the entity names. A question's score
against a fact is its MaxSim divided by the question's token count (the mean of its
tokens' best cosines, so scores of different questions compare). Facts are keyed by
their normalised parts, so the same triple from two passages is one fact.

>>> from kglink.encoder import LateInteractionModel
>>> facts = FactIndex(LateInteractionModel.from_pretrained(show_progress=False))
>>> facts.add([("Paris", "is the capital of", "France"), ("Berlin", "lies in", "Germany")])
2
>>> [f for f, _ in facts.search("What is the capital of France?", top_k=1)]
[('Paris', 'is the capital of', 'France')]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from kglink.artifacts import read_config, read_folder, write_config, write_folder
from kglink.checks import check_count, check_text
from kglink.corpus import Triple
from kglink.encoder.model import LateInteractionModel
from kglink.index.tokens import LateInteractionIndex, check_encoded_by
from kglink.text import normalize_name

logger = logging.getLogger(__name__)


def fact_key(triple: Triple) -> str:
    """``"s|p|o"`` of the normalised parts: one key for the same fact however it was written.

    >>> fact_key(("Paris ", "is in", "FRANCE"))
    'paris|is in|france'
    """
    return "|".join(normalize_name(part) for part in triple)


class FactIndex:
    """Relation triples searchable by normalised MaxSim; :meth:`add` skips facts already held."""

    def __init__(self, model: LateInteractionModel) -> None:
        self.model = model
        self.docs = LateInteractionIndex(device=model.device)  # ids: fact keys; texts: "s\tp\to"

    def __len__(self) -> int:
        return len(self.docs)

    def add(self, triples: Sequence[Triple], progress: bool | None = None) -> int:
        """Encode the triples not yet present; returns how many were new."""
        new: dict[str, Triple] = {}
        for triple in triples:
            key = fact_key(triple)
            if key not in self.docs and key not in new and all(normalize_name(p) for p in triple):
                new[key] = tuple(triple)
        if not new:
            return 0
        texts = [" ".join(t) for t in new.values()]
        self.docs.add(
            self.model.encode_documents(texts, progress=progress),
            ["\t".join(t) for t in new.values()],
            list(new),
        )
        self.docs.build_candidates()  # now, once: it is saved with the index
        logger.info("indexed %d facts", len(new))
        return len(new)

    def triples(self) -> list[Triple]:
        """Every fact held, as ``(subject, predicate, object)``, in index order."""
        return [tuple(self.docs.text(i).split("\t")) for i in self.docs.ids]

    def remove_entities(self, names: Sequence[str]) -> int:
        """Drop the facts whose subject or object is one of ``names`` (removed entities); returns how many."""
        gone = {normalize_name(n) for n in names}
        drop = [k for k, t in zip(self.docs.ids, self.triples()) if {_key(t[0]), _key(t[2])} & gone]
        self._remove(drop)
        return len(drop)

    def rename_entities(self, names: Sequence[str], into: str) -> int:
        """Make the facts about ``names`` (entities merged into ``into``) name ``into``; returns how many.

        A fact keeps its encoding (of the words its passage used) under its new key and text;
        one that becomes a self-loop, or a fact already held, is dropped.
        """
        alias = dict.fromkeys((normalize_name(n) for n in names), into)
        old, new = [], {}
        for key, (s, p, o) in zip(self.docs.ids, self.triples()):
            if _key(s) not in alias and _key(o) not in alias:
                continue
            triple = (alias.get(_key(s), s), p, alias.get(_key(o), o))
            old.append(key)
            moved = fact_key(triple)
            if _key(triple[0]) != _key(triple[2]) and moved not in new and (moved not in self.docs):
                new[moved] = (triple, self.docs.embedding(key))
        self._remove(old)
        if new:
            texts = ["\t".join(t) for t, _ in new.values()]
            self.docs.add([e for _, e in new.values()], texts, list(new))
            self.docs.build_candidates()
        logger.info("renamed %d facts to %r (%d kept)", len(old), into, len(new))
        return len(old)

    def _remove(self, keys: list[str]) -> None:
        if keys:
            self.docs.remove(keys)
            self.docs.build_candidates()

    def copy(self) -> FactIndex:
        """An independent copy sharing the model (what a server's writer changes)."""
        import copy

        new = copy.copy(self)
        new.docs = self.docs.copy()
        return new

    def search(self, question: str, top_k: int = 5) -> list[tuple[Triple, float]]:
        """The ``top_k`` facts for ``question`` with their scores (mean MaxSim), best first."""
        check_text(question, "the question")
        top_k = check_count(top_k, "top_k")
        if not len(self.docs):
            return []
        query = self.model.encode_query([question])
        scores, pos = self.docs.search_arrays(query, top_k)
        n_tokens = max(len(query[0]), 1)
        out = []
        for score, p in zip(scores[0], pos[0]):
            if p >= 0:
                triple = tuple(self.docs.text(self.docs.id_at(p)).split("\t"))
                out.append((triple, float(score) / n_tokens))
        return out

    def save(self, folder: str | Path) -> None:
        """Write the index to ``folder``, all at once (see :mod:`kglink.artifacts`)."""
        with write_folder(folder, "fact_index") as tmp:
            self.write(tmp)

    def write(self, folder: Path) -> None:
        """Write the index's files into ``folder`` as they are."""
        self.docs.write(folder / "docs")
        write_config(
            folder / "config.json", "fact_index", model=self.model.name, dim=self.model.dim, facts=len(self)
        )

    @classmethod
    def load(cls, folder: str | Path, model: LateInteractionModel) -> FactIndex:
        """Load a saved fact index encoded with ``model``."""
        return read_folder(folder, lambda path: cls.read(path, model))

    @classmethod
    def read(cls, folder: Path, model: LateInteractionModel) -> FactIndex:
        """Read the index's files from ``folder`` as they are."""
        config = read_config(folder / "config.json", "fact_index", {"model": str, "dim": int})
        check_encoded_by(config, model.name, model.dim, folder)
        index = cls(model)
        index.docs, _ = LateInteractionIndex.read(folder / "docs")
        return index


def _key(part: str) -> str:
    return normalize_name(part)


def fact_seeds(facts: list[tuple[Triple, float]], passages_of: dict[str, int]) -> dict[str, float]:
    """Seed weights from scored facts, as HippoRAG 2 weighs them.

    Each fact's subject and object that are entity nodes (``passages_of`` maps a
    normalised name to how many passages mention it) get the fact's score divided by
    that count (node specificity); a node reached by several facts gets the mean.

    >>> scored = [(("Ann", "met", "Bob"), 0.8), (("Bob", "likes", "Cy"), 0.4)]
    >>> fact_seeds(scored, {"ann": 1, "bob": 2, "cy": 4})  # bob: (0.8 / 2 + 0.4 / 2) / 2
    {'ann': 0.8, 'bob': 0.30000000000000004, 'cy': 0.1}
    """
    total: dict[str, float] = {}
    count: dict[str, int] = {}
    for (subject, _, obj), score in facts:
        for name in dict.fromkeys((normalize_name(subject), normalize_name(obj))):
            if name in passages_of:
                total[name] = total.get(name, 0.0) + score / max(passages_of[name], 1)
                count[name] = count.get(name, 0) + 1
    return {name: total[name] / count[name] for name in total}
