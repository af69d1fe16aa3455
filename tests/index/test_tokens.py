"""LateInteractionIndex: the PyLate quick start, exact and faiss search, add/remove, persistence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

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


def _ivf_index(rng, n_docs=400):
    docs = random_tokens(rng, n_docs, dim=16)
    index = LateInteractionIndex(exhaustive_below=0, approximate_above=100, nprobe=8)
    index.add(docs, [str(i) for i in range(n_docs)])
    return index, docs


def test_a_saved_ivf_loads_without_training_or_assigning(tmp_path, monkeypatch):
    from kglink.index import tokens

    index, docs = _ivf_index(np.random.default_rng(5))
    index.build_candidates()  # trains once, here (as every index's add does)
    index.save(tmp_path / "ix")
    centroids, lists = index._ivf
    np.testing.assert_array_equal(lists, tokens._nearest(centroids, index._tokens))  # each token's nearest
    assert len(centroids) == tokens._nlist(len(index._tokens))

    def refuse(*args):
        raise AssertionError("a loaded IVF index must not be trained or assigned again")

    monkeypatch.setattr(tokens, "_train_centroids", refuse)
    monkeypatch.setattr(tokens, "_nearest", refuse)
    loaded, _ = LateInteractionIndex.load(tmp_path / "ix")
    queries = docs[:30]
    assert loaded.search(queries, top_k=3) == index.search(queries, top_k=3)
    assert type(loaded._faiss_index()).__name__ == "IndexIVFFlat" and loaded._faiss.ntotal == len(lists)


def test_ivf_lists_follow_adds_and_removes():
    from kglink.index import tokens

    rng = np.random.default_rng(6)
    index, docs = _ivf_index(rng)
    index.search(docs[0], top_k=1)  # trains, builds the live index
    centroids = index._ivf[0]
    more = random_tokens(rng, 40, dim=16)
    index.add(more, [f"n{i}" for i in range(40)], ids=[f"n{i}" for i in range(40)])
    index.remove(["3", "n5"])
    assert index._ivf[0] is centroids  # not trained again
    np.testing.assert_array_equal(index._ivf[1], tokens._nearest(centroids, index._tokens))
    rebuilt = tokens._ivf_index(centroids, index._ivf[1], index._tokens)
    assert rebuilt.ntotal == len(index._tokens)
    assert index.search(more[7], top_k=1)[0].id == "n7" and index.search(docs[9], top_k=1)[0].id == "9"


def test_ivf_files_that_do_not_fit_are_trained_again(tmp_path, caplog):
    index, docs = _ivf_index(np.random.default_rng(7))
    folder = tmp_path / "ix"
    folder.mkdir()
    index.build_candidates()
    index.write(folder)
    lists = np.load(folder / "ivf_lists.npy")
    np.save(folder / "ivf_lists.npy", lists[:-1])  # one token short
    loaded, _ = LateInteractionIndex.read(folder)
    assert loaded._ivf is None and "trained again" in caplog.text
    assert loaded.search(docs[:5], top_k=1) == index.search(docs[:5], top_k=1)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast")  # numpy's, on 1e6 and inf
def test_the_float16_casts_are_bit_identical_to_numpy():
    from kglink.index.tokens import _as

    rng = np.random.default_rng(3)
    edge = [0.0, -0.0, 1e-8, 6e-8, -3e-5, 65504.0, 65520.0, 1e6, np.inf, -np.inf, 1 + 2**-11, 1 + 3 * 2**-11]
    values = np.concatenate([rng.standard_normal(10_000) * 10.0 ** rng.integers(-8, 6, 10_000), edge])
    values = values.astype(np.float32).reshape(-1, 2)
    half = _as(values, torch.float16)
    assert half.dtype == np.float16
    assert half.tobytes() == values.astype(np.float16).tobytes()  # round to nearest even, overflow to inf
    back = _as(half, torch.float32)
    assert back.dtype == np.float32 and back.tobytes() == half.astype(np.float32).tobytes()
    assert np.isnan(_as(np.array([np.nan], np.float32), torch.float16)).all()
    assert _as(values.T, torch.float16).tobytes() == values.T.astype(np.float16).tobytes()  # not contiguous
