"""Random and malformed input, property-tested: only results or kglink's own errors, never another exception.

Each property runs a few hundred examples in the default suite (a few thousand in all)
and ten times as many under ``-m slow``. The API runs on a tiny random checkpoint, so
that an example costs milliseconds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kglink import KglinkError

SAMPLE = Path(__file__).resolve().parents[1] / "graphs" / "sample"
FAST = 500
SETTINGS = {"deadline": None, "suppress_health_check": list(HealthCheck), "derandomize": True}

# --- what arrives: text with lone surrogates and control characters, numbers of every kind
surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
texts = st.one_of(st.text(max_size=40), st.text(alphabet=st.one_of(surrogates, st.characters()), max_size=8))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
)
name_lists = st.one_of(st.lists(texts, max_size=6), st.lists(scalars, max_size=4), scalars)
json_values = st.recursive(
    scalars.filter(lambda v: not isinstance(v, float) or np.isfinite(v)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def _fuzz(body, *strategies, fast=FAST):
    """Two tests from one property: ``fast`` examples by default, ten times as many under ``-m slow``."""
    default = settings(max_examples=fast, **SETTINGS)(given(*strategies)(body))
    slow = pytest.mark.slow(settings(max_examples=10 * fast, **SETTINGS)(given(*strategies)(body)))
    return default, slow


def _clean(call):
    """Run ``call``; a KglinkError is a clean answer, anything else fails the test."""
    try:
        return call()
    except KglinkError:
        return None


@pytest.fixture(scope="module")
def tiny_model(plain_ckpt):
    from kglink import LateInteractionModel

    return LateInteractionModel.from_pretrained(plain_ckpt, show_progress=False)


@pytest.fixture(scope="module")
def entities(tiny_model):
    from kglink import EntityIndex

    index = EntityIndex(tiny_model, threshold=0.5)
    index.add(["stanford university", "leland stanford", "barack obama", "hawaii"])
    return index


@pytest.fixture(scope="module")
def bundle(tiny_model, tmp_path_factory):
    from kglink import build_graph

    docs = json.loads((SAMPLE / "openie.json").read_text())["docs"][:4]
    path = tmp_path_factory.mktemp("fuzz") / "openie.json"
    path.write_text(json.dumps({"docs": docs}))
    return build_graph(path, model=tiny_model, threshold=0.9)


# --- the Python API ------------------------------------------------------------------


def _link(entities, mentions, top_k, threshold):
    result = _clean(lambda: entities.link(mentions, top_k=top_k, threshold=threshold))
    if result is not None:
        assert len(result) == len(mentions)
        assert all(0 <= len(r.matches) <= min(top_k, len(entities)) for r in result)


test_link, test_link_slow = _fuzz(_link, name_lists, scalars, scalars)


def _add_remove(tiny_model, names, removed):
    from kglink import EntityIndex

    index = EntityIndex(tiny_model, threshold=0.5)
    added = _clean(lambda: index.add(names))
    if added is not None:
        assert len(index) == len(added) and set(added) <= set(index.docs.ids)
    before = list(index.docs.ids)
    try:
        index.remove(removed)
        assert set(before) - set(index.docs.ids) == set(removed)
    except KglinkError:
        assert index.docs.ids == before  # a refused removal removes nothing
    assert index.docs.ids == index.queries.ids and set(index.docs.ids) == set(index._self)


test_add_remove, test_add_remove_slow = _fuzz(_add_remove, name_lists, name_lists, fast=150)


def _pairs(entities, threshold, neighbors, alnum, nodes):
    pairs = _clean(lambda: entities.synonym_pairs(threshold, neighbors, alnum, nodes))
    assert pairs is None or all(p.source < p.target for p in pairs)


test_synonym_pairs, test_synonym_pairs_slow = _fuzz(
    _pairs,
    scalars,
    scalars,
    scalars,
    st.one_of(st.none(), name_lists),
)

arrays = st.one_of(
    st.builds(
        lambda shape, fill: np.full(shape, fill, dtype=np.float32),
        st.tuples(st.integers(0, 3), st.integers(0, 6)) | st.tuples(st.integers(0, 2)),
        st.floats(allow_nan=True, allow_infinity=True, width=32),
    ),
    scalars,
)


def _search(entities, queries, top_k):
    hits = _clean(lambda: entities.docs.search(queries, top_k=top_k))
    assert hits is None or isinstance(hits, list)


test_search, test_search_slow = _fuzz(_search, st.one_of(arrays, st.lists(arrays, max_size=3)), scalars)


def _retrieve(bundle, question, top_k):
    from kglink import GraphRetriever

    hits = _clean(lambda: GraphRetriever(bundle).retrieve(question, top_k=top_k))
    assert hits is None or len(hits) <= top_k


test_retrieve, test_retrieve_slow = _fuzz(_retrieve, scalars, scalars, fast=100)


# --- the loaders ---------------------------------------------------------------------


def _write(tmp_path_factory, name: str, data: bytes) -> Path:
    path = tmp_path_factory.mktemp("in") / name
    path.write_bytes(data)
    return path


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for where, byte in edits:
        i = where % (len(out) + 1)
        out[i:i] = bytes([byte])  # insert
        if byte % 3 == 0 and i < len(out) - 1:
            del out[i + 1]  # and sometimes drop the next byte
    return bytes(out)


SAMPLE_OPENIE = json.dumps({"docs": json.loads((SAMPLE / "openie.json").read_text())["docs"][:3]}).encode()
edits = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6)


def _loaders(tmp_path_factory, tiny_model, value, mutation):
    from kglink import build_graph
    from kglink.corpus import load_corpus, load_documents, load_openie
    from kglink.synonymy.groups import load_synsets

    raw = json.dumps(value).encode() if mutation is None else _mutate(SAMPLE_OPENIE, mutation)
    for name, load in [
        ("o.json", load_openie),
        ("c.json", load_corpus),
        ("c.jsonl", load_documents),
        ("s.jsonl", load_synsets),
        ("s.tsv", load_synsets),
    ]:
        _clean(lambda load=load, name=name: load(_write(tmp_path_factory, name, raw)))
    path = _write(tmp_path_factory, "build.json", raw)  # a whole build: malformed triples counted
    _clean(lambda: build_graph(path, model=tiny_model, threshold=0.9, passages=False))


test_loaders, test_loaders_slow = _fuzz(_loaders, json_values, st.none() | edits, fast=150)


def test_json_nested_thousands_deep_and_huge_integers_are_clean_errors(tmp_path):
    from kglink.corpus import load_openie

    for name, text in [
        ("deep.json", "[" * 100_000 + "]" * 100_000),
        ("big.json", '{"docs": [' + "9" * 5000 + "]}"),
    ]:
        (tmp_path / name).write_text(text)
        with pytest.raises(KglinkError):
            load_openie(tmp_path / name)


# --- the command line ----------------------------------------------------------------


@pytest.fixture(scope="module")
def graph_dir(bundle, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli") / "g"
    bundle.save(folder)
    return folder


def _cli(graph_dir, command, words):
    from kglink.cli import main

    args = {
        "link": ["link", "--graph", str(graph_dir), *words],
        "retrieve": ["retrieve", "--graph", str(graph_dir), *words],
        "synonyms": ["synonyms", "--graph", str(graph_dir), *words],
        "info": ["info", "--graph", *words],
        "build": ["build", "--out", os.fspath(graph_dir.parent / "b"), *words],
    }[command]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


words = st.lists(
    st.one_of(texts, st.sampled_from(["--top-k", "--threshold", "--json", "--limit", "-1", "0", "1e9"])),
    max_size=5,
)
test_cli, test_cli_slow = _fuzz(
    _cli,
    st.sampled_from(["link", "retrieve", "synonyms", "info", "build"]),
    words,
    fast=150,
)
