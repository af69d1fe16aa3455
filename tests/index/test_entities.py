"""EntityIndex: synonym pairs against a reference loop, incremental pairs, linking, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from kglink import EntityIndex, IndexMismatchError, InputError, LateInteractionModel
from kglink.scores import maxsim_reference
from kglink.text import alnum_count

WORDS = ["stanford", "university", "leland", "junior", "obama", "barack", "born", "hawaii", "the", "of"]
NAMES = [" ".join(p) for p in itertools.permutations(WORDS[:6], 2)][:24] + ["of", "hawaii", "born in hawaii"]


@pytest.fixture(scope="module")
def tiny(pylate_ckpt):
    return LateInteractionModel.from_pretrained(str(pylate_ckpt), show_progress=False)


def reference_pairs(entities, threshold, max_neighbors, min_alnum, both_ways=True):
    """HippoRAG's recipe written as plain loops over the stored vectors.

    Neighbours are taken in raw-score order; normalised scores tie at 1.0 once clipped.
    With ``both_ways`` a found pair scores the lower of its two directions.
    """
    ids = [i for i in entities.docs.ids if alnum_count(i) >= min_alnum]
    queries = [entities.queries.embedding(i) for i in ids]
    docs = [entities.docs.embedding(i) for i in ids]
    raw = maxsim_reference(queries, docs)
    selfs = np.diag(raw)
    found = {}
    for a, qid in enumerate(ids):
        norm = np.clip(raw[a] / selfs[a], 0, 1)
        taken = 0
        for b in sorted(range(len(ids)), key=lambda b: -raw[a, b]):  # neighbours by raw MaxSim
            if taken == max_neighbors or norm[b] < threshold:
                break
            if b == a:
                continue
            key = tuple(sorted((qid, ids[b])))
            found[key] = max(found.get(key, -1), norm[b])
            taken += 1
    if both_ways:
        at = {name: i for i, name in enumerate(ids)}
        norm = np.clip(raw / selfs[:, None], 0, 1)
        lower = {(a, b): min(norm[at[a], at[b]], norm[at[b], at[a]]) for a, b in found}
        found = {pair: score for pair, score in lower.items() if score >= threshold}
    return found


@pytest.mark.parametrize("both_ways", [True, False])
@pytest.mark.parametrize("threshold,max_neighbors", [(0.9, 100), (0.8, 3)])
def test_synonym_pairs_match_reference(tiny, threshold, max_neighbors, both_ways):
    entities = EntityIndex(tiny)
    entities.add(NAMES)
    pairs = entities.synonym_pairs(threshold, max_neighbors, both_ways=both_ways)
    got = {(p.source, p.target): p.score for p in pairs}
    want = reference_pairs(entities, threshold, max_neighbors, 3, both_ways)
    n = len(entities)
    assert 0 < len(want) < n * (n - 1) / 2  # the threshold really separates pairs
    assert got.keys() == want.keys()
    for key, score in want.items():
        assert got[key] == pytest.approx(score, abs=1e-5)
    assert all(len(a) >= 3 and len(b) >= 3 for a, b in got)  # "of" is too short to pair


def test_both_ways_drops_a_name_contained_in_another(default_model):
    entities = EntityIndex(default_model)
    entities.add(["Lake", "Lake Hefner", "Barack Obama", "Barack H. Obama"])
    one_way = {(p.source, p.target) for p in entities.synonym_pairs(0.8, both_ways=False)}
    both = {(p.source, p.target): p.score for p in entities.synonym_pairs(0.8)}
    assert ("lake", "lake hefner") in one_way and ("lake", "lake hefner") not in both
    forward = entities.link(["barack h obama"], top_k=2, threshold=0.0)[0].matches
    backward = entities.link(["barack obama"], top_k=2, threshold=0.0)[0].matches
    other = [m.score for m in forward if m.node_id == "barack obama"] + [
        m.score for m in backward if m.node_id == "barack h obama"
    ]
    assert both[("barack h obama", "barack obama")] == pytest.approx(min(other), abs=5e-3)


def test_incremental_pairs_only_touch_new_nodes(tiny):
    full = EntityIndex(tiny)
    full.add(NAMES)
    want = {(p.source, p.target) for p in full.synonym_pairs(0.9)}
    entities = EntityIndex(tiny)
    entities.add(NAMES[:15])
    entities.synonym_pairs(0.9)
    new = entities.add(NAMES[15:] + NAMES[:2])  # names already present are not re-added
    assert new == [n for n in NAMES[15:]]
    got = {(p.source, p.target) for p in entities.synonym_pairs(0.9, nodes=new)}
    assert got == {pair for pair in want if set(pair) & set(new)}
    eligible = sum(alnum_count(n) >= 3 for n in NAMES)
    n_new = sum(alnum_count(n) >= 3 for n in new)
    assert entities.pairs_scored == n_new * len(entities) + (eligible - n_new) * n_new


def test_link_ranks_and_says_no_link(default_model):
    entities = EntityIndex(default_model)
    entities.add(["Stanford University", "Barack Obama", "Honolulu"])
    first, second = entities.link(["stanford university", "quantum chromodynamics"], top_k=2, threshold=0.9)
    assert first.linked and first.matches[0].node_id == "stanford university"
    assert first.matches[0].score == pytest.approx(1.0, abs=1e-3)
    assert not second.linked and second.matches == () and second.best is not None
    assert second.best.score < 0.9


@pytest.mark.parametrize("normalization", ["self", "mean", "symmetric"])
def test_scores_are_in_unit_interval(default_model, normalization):
    entities = EntityIndex(default_model, normalization=normalization)
    entities.add(["Stanford University", "Barack Obama", "Honolulu", "University of Hawaii"])
    for result in entities.link(["Obama", "Univ. of Hawaii", "stanford"], top_k=4, threshold=0.0):
        scores = [m.score for m in result.matches]
        assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    assert entities.synonym_pairs(0.0)  # every pair passes a zero threshold


def test_bad_input(default_model):
    entities = EntityIndex(default_model)
    entities.add(["Stanford University"])
    for bad in ([""], ["   "], ["!!!"]):
        with pytest.raises(InputError):
            entities.link(bad)
        with pytest.raises(InputError):
            entities.add(bad)
    with pytest.raises(InputError, match="tokens long"):
        entities.add(["word " * 300])
    for threshold in (-0.1, 1.5, "high"):
        with pytest.raises(InputError, match="threshold"):
            entities.link(["stanford"], threshold=threshold)
    with pytest.raises(InputError, match="normalization"):
        EntityIndex(default_model, normalization="raw")
    assert len(entities) == 1  # nothing was half-added


def test_save_load_and_model_mismatch(default_model, tiny, tmp_path):
    entities = EntityIndex(default_model, threshold=0.7)
    entities.add(["Stanford University", "Barack Obama"])
    entities.save(tmp_path / "ents")
    loaded = EntityIndex.load(tmp_path / "ents", default_model)
    assert loaded.threshold == 0.7 and loaded.docs.ids == entities.docs.ids
    assert loaded.link(["obama"])[0].best == entities.link(["obama"])[0].best
    with pytest.raises(IndexMismatchError, match="built with model"):
        EntityIndex.load(tmp_path / "ents", tiny)


def test_remove(default_model):
    entities = EntityIndex(default_model)
    entities.add(["Stanford University", "Barack Obama", "Obama"])
    entities.remove(["obama"])
    assert "obama" not in entities and len(entities) == 2
    assert entities.link(["obama"])[0].best.node_id == "barack obama"
