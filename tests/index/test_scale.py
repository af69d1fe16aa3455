"""The scalable synonym path: pooled-vector candidates, gathered exact rescoring, deepening."""

from __future__ import annotations

import ast
import json

import numpy as np
import pytest

from kglink import EntityIndex
from kglink.index import entities as entities_module
from kglink.index import tokens as tokens_module
from kglink.scores import maxsim_candidates, maxsim_gathered, maxsim_reference, pack
from kglink.text import normalize_name
from tests.conftest import shared_path


def _unit(rng, n_tokens: int, dim: int = 16) -> np.ndarray:
    x = rng.standard_normal((n_tokens, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("budget", [1 << 24, 1_000])  # one block, and one query a block
def test_gathered_scores_equal_the_reference(budget):
    rng = np.random.default_rng(0)
    queries = [_unit(rng, n) for n in rng.integers(1, 9, 40)]
    docs = [_unit(rng, n) for n in rng.integers(1, 12, 30)]
    cand = rng.integers(-1, len(docs), (len(queries), 7))
    cand[3] = -1  # a query with no candidate
    got = maxsim_gathered(*pack(queries), *pack(docs), cand, budget=budget)
    want = maxsim_reference(queries, docs)
    for a in range(len(queries)):
        for j, b in enumerate(cand[a]):
            assert got[a, j] == (pytest.approx(want[a, b], abs=1e-5) if b >= 0 else -np.inf)


def test_candidates_keep_the_best_k():
    rng = np.random.default_rng(1)
    queries, docs = [_unit(rng, 3) for _ in range(5)], [_unit(rng, n) for n in (1, 4, 2, 6)]
    cands = [np.array([0, 2, 3]), np.array([1]), np.array([], dtype=np.int64), np.arange(4), np.array([3, 0])]
    scores, pos = maxsim_candidates(*pack(queries), *pack(docs), cands, 2)
    want = maxsim_reference(queries, docs)
    for a, c in enumerate(cands):
        best = sorted(c, key=lambda b: -want[a, b])[:2]
        assert pos[a, : len(best)].tolist() == best and (pos[a, len(best) :] == -1).all()
        assert scores[a, : len(best)] == pytest.approx(want[a, best], abs=1e-5)


def _real_names(limit: int) -> list[str]:
    path = shared_path("data", "hipporag", "openie_musique_train_results_ner_gpt-3.5-turbo-1106_1890.json")
    names = []
    for doc in json.loads(path.read_text())["docs"]:
        value = doc["extracted_entities"]
        names += ast.literal_eval(value) if isinstance(value, str) else value
    names = list(dict.fromkeys(n for n in names if normalize_name(n)))
    return [names[i] for i in np.random.default_rng(0).permutation(len(names))[:limit]]


@pytest.fixture(scope="module")
def real(default_model):
    """400 MuSiQue names, encoded once."""
    entities = EntityIndex(default_model)
    entities.add(_real_names(400))
    return entities


def _both_paths(entities, **kwargs):
    """``(exact pairs, candidate-path pairs, pairs the candidate path scored)`` as dicts."""
    out = []
    for below in (10**9, 0):
        entities.exhaustive_below = below
        out.append({(p.source, p.target): p.score for p in entities.synonym_pairs(**kwargs)})
    return out[0], out[1], entities.pairs_scored


KWARGS = [{"threshold": 0.7}, {"threshold": 0.7, "both_ways": False}, {"threshold": 0.6, "max_neighbors": 3}]


@pytest.mark.parametrize("kwargs", KWARGS)
def test_candidate_pairs_equal_exact_pairs_on_real_names(real, kwargs):
    exact, got, scored = _both_paths(real, **kwargs)
    assert len(exact) > 20 and got.keys() == exact.keys()
    assert all(got[k] == pytest.approx(s, abs=1e-5) for k, s in exact.items())
    assert scored < len(real) ** 2 / 4  # candidates, not all pairs


def test_deepening_finds_neighbours_beyond_the_first_candidates(default_model, monkeypatch):
    """Names with many synonyms each: two first candidates cannot hold them, deepening must."""
    names = [f"{w} {suffix}" for w in ("stanford university", "barack obama") for suffix in "abcdefghij"]
    entities = EntityIndex(default_model)
    entities.add(names + ["honolulu", "lake hefner", "leland junior"])
    monkeypatch.setattr(entities_module, "CANDIDATES", 2)
    exact, got, _ = _both_paths(entities, threshold=0.6)
    assert len(exact) > 40 and got.keys() == exact.keys()


@pytest.mark.parametrize("normalization", ["mean", "symmetric"])
def test_other_normalizations_and_new_nodes(real, normalization):
    names = real.docs.ids[:200]
    entities = EntityIndex(real.model, normalization=normalization)
    entities.docs, entities.queries, entities._self = real.docs, real.queries, real._self  # no re-encoding
    exact, got, _ = _both_paths(entities, threshold=0.7)
    assert len(exact) > 5 and got.keys() == exact.keys()
    new = names[150:]
    got_new = {(p.source, p.target) for p in entities.synonym_pairs(0.7, nodes=new)}
    assert got_new == {pair for pair in exact if set(pair) & set(new)}


def test_pooled_vectors_and_ivf_neighbours(monkeypatch):
    rng = np.random.default_rng(2)
    embeddings = [_unit(rng, n, 8) for n in rng.integers(1, 5, 300)]
    index = tokens_module.LateInteractionIndex()
    index.add(embeddings, [str(i) for i in range(300)])
    pooled = index.pooled_vectors()
    want = np.stack([e.mean(0) / np.linalg.norm(e.mean(0)) for e in embeddings])
    assert pooled == pytest.approx(want, abs=1e-3)  # stored tokens are float16-rounded
    exact = index.pooled_neighbors(np.arange(300), 5)
    assert (exact[:, 0] == np.arange(300)).all()  # each text is its own nearest
    monkeypatch.setattr(tokens_module, "POOLED_EXACT_BELOW", 0)
    ivf = tokens_module.LateInteractionIndex()
    ivf.add(embeddings, [str(i) for i in range(300)])
    approx = ivf.pooled_neighbors(np.arange(300), 5)
    overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(exact, approx)])
    assert approx.shape == (300, 5) and overlap > 0.5
