"""LateInteractionIndex: the PyLate quick start, exact and faiss search, add/remove, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from kglink import ArtifactError, IndexMismatchError, InputError, LateInteractionIndex
from kglink.scores import maxsim_reference
from tests.test_scores import random_tokens


def test_quick_start(default_model):
    names = ["Stanford University", "Leland Stanford Junior University", "Honolulu"]
    index = LateInteractionIndex()
    index.add(default_model.encode_documents(names), names)
    results = index.search(default_model.encode_query("Stanford"), top_k=3)
    assert [r.text for r in results][:2] == names[:2]
    assert results[0].score > results[1].score > results[2].score


def _stored(docs):
    return [d.astype(np.float16).astype(np.float32) for d in docs]  # the index keeps float16


@pytest.mark.parametrize("exhaustive_below", [10_000, 0])
def test_search_matches_reference(exhaustive_below):
    rng = np.random.default_rng(0)
    docs, queries = random_tokens(rng, 60), random_tokens(rng, 6)
    # every query token fetches every token: the faiss path must then equal the exact one
    index = LateInteractionIndex(exhaustive_below=exhaustive_below, candidate_tokens=10_000)
    index.add(docs, [f"text {i}" for i in range(60)])
    ref = maxsim_reference(queries, _stored(docs))
    for row, hits in zip(ref, index.search(queries, top_k=5)):
        assert [h.id for h in hits] == [str(i) for i in np.argsort(-row)[:5]]
        np.testing.assert_allclose([h.score for h in hits], np.sort(row)[::-1][:5], atol=1e-4)


def test_ivf_candidates_find_the_best_match():
    rng = np.random.default_rng(1)
    docs = random_tokens(rng, 400, dim=16)
    index = LateInteractionIndex(exhaustive_below=0, approximate_above=100, nprobe=8)
    index.add(docs, [str(i) for i in range(400)])
    queries = [d + 0.05 * rng.standard_normal(d.shape).astype(np.float32) for d in docs[:50]]
    top1 = [hits[0].id for hits in index.search(queries, top_k=1)]
    assert type(index._faiss_index()).__name__ == "IndexIVFFlat"
    assert sum(t == str(i) for i, t in enumerate(top1)) >= 48  # noisy copies find their source


def test_add_remove_and_ids():
    rng = np.random.default_rng(2)
    docs = random_tokens(rng, 10)
    index = LateInteractionIndex()
    index.add(docs[:6], [f"t{i}" for i in range(6)], ids=[f"id{i}" for i in range(6)])
    index.search(docs[0], top_k=1)  # builds search state that add/remove must keep right
    index.add(docs[6:], [f"t{i}" for i in range(6, 10)], ids=[f"id{i}" for i in range(6, 10)])
    index.remove(["id0", "id7"])
    assert len(index) == 8 and "id0" not in index.ids
    for i in (1, 6, 9):
        assert index.search(docs[i], top_k=1)[0].id == f"id{i}"
        np.testing.assert_allclose(index.embedding(f"id{i}"), docs[i], atol=1e-3)
    with pytest.raises(InputError, match="already"):
        index.add(docs[:1], ["x"], ids=["id1"])
    with pytest.raises(InputError, match="not in the index"):
        index.remove(["id0"])
    with pytest.raises(IndexMismatchError):
        index.add([np.ones((2, 5), np.float32)], ["wrong dim"])
    with pytest.raises(InputError, match="empty"):
        LateInteractionIndex().search(docs[0])


def test_save_load_roundtrip(tmp_path):
    rng = np.random.default_rng(3)
    docs = random_tokens(rng, 20)
    index = LateInteractionIndex(candidate_tokens=7)
    index.add(docs, [f"t{i}" for i in range(20)])
    index.save(tmp_path / "ix")
    assert np.load(tmp_path / "ix" / "tokens.npy").dtype == np.float16
    loaded, config = LateInteractionIndex.load(tmp_path / "ix")
    assert config["format_version"] == 1 and config["n_docs"] == 20 and loaded.candidate_tokens == 7
    assert loaded.search(docs[3], top_k=3) == index.search(docs[3], top_k=3)


def test_corrupt_folders(tmp_path):
    rng = np.random.default_rng(4)
    index = LateInteractionIndex()
    index.add(random_tokens(rng, 3), ["a", "b", "c"])
    index.save(tmp_path / "ix")
    with pytest.raises(ArtifactError):
        LateInteractionIndex.load(tmp_path / "missing")
    (tmp_path / "ix" / "offsets.npy").write_bytes(b"not numpy")
    with pytest.raises(ArtifactError, match="corrupt"):
        LateInteractionIndex.load(tmp_path / "ix")
    index.save(tmp_path / "ix")
    (tmp_path / "ix" / "tokens.npy").unlink()
    with pytest.raises(ArtifactError, match="missing"):
        LateInteractionIndex.load(tmp_path / "ix")
