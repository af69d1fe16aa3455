"""MaxSim fast paths against the plain-loop reference, and score normalisation by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kglink import InputError
from kglink.scores import maxsim, maxsim_candidates, maxsim_reference, maxsim_topk, normalize_scores, pack


def random_tokens(rng, n, lo=1, hi=9, dim=12):
    out = []
    for _ in range(n):
        x = rng.standard_normal((int(rng.integers(lo, hi)), dim)).astype(np.float32)
        out.append(x / np.linalg.norm(x, axis=1, keepdims=True))
    return out


def test_hand_computed():
    q = [np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)]
    d = [np.array([[1.0, 0.0]], np.float32), np.array([[0.6, 0.8], [-1.0, 0.0]], np.float32)]
    # doc 0: max(1)=1 for token 1, max(0)=0 for token 2 -> 1.0
    # doc 1: token 1 best is 0.6, token 2 best is 0.8 -> 1.4
    np.testing.assert_allclose(maxsim(q, d, device="cpu"), [[1.0, 1.4]], atol=1e-6)
    np.testing.assert_allclose(maxsim_reference(q, d), [[1.0, 1.4]])


def test_all_negative_similarities_are_not_clipped_by_padding():
    q = [np.array([[1.0, 0.0]], np.float32)]
    d = [np.array([[-1.0, 0.0]], np.float32), np.array([[-0.6, 0.8], [-0.8, 0.6], [0.0, -1.0]], np.float32)]
    np.testing.assert_allclose(maxsim(q, d, device="cpu"), [[-1.0, 0.0]], atol=1e-6)


@pytest.mark.parametrize("budget", [1, 37, 500, 1 << 24])
def test_blocks_match_reference(budget):
    rng = np.random.default_rng(budget)
    queries, docs = random_tokens(rng, 9), random_tokens(rng, 40)
    ref = maxsim_reference(queries, docs)
    np.testing.assert_allclose(maxsim(queries, docs, device="cpu", budget=budget), ref, atol=1e-5)
    scores, idx = maxsim_topk(pack(queries), pack(docs), 7, device="cpu", budget=budget)
    np.testing.assert_array_equal(idx, np.argsort(-ref, axis=1)[:, :7])
    np.testing.assert_allclose(scores, np.sort(ref, axis=1)[:, ::-1][:, :7], atol=1e-5)


def test_candidates_match_reference():
    rng = np.random.default_rng(3)
    queries, docs = random_tokens(rng, 5), random_tokens(rng, 30)
    ref = maxsim_reference(queries, docs)
    cands = [rng.choice(30, size=int(rng.integers(0, 12)), replace=False) for _ in range(5)]
    scores, pos = maxsim_candidates(*pack(queries), *pack(docs), cands, 4)
    for i, c in enumerate(cands):
        want = sorted(c, key=lambda j: -ref[i, j])[:4]
        assert pos[i, : len(want)].tolist() == want
        assert (pos[i, len(want) :] == -1).all() and np.isinf(scores[i, len(want) :]).all()
        np.testing.assert_allclose(scores[i, : len(want)], ref[i, want], atol=1e-5)


def test_bfloat16_blocks_are_close():
    rng = np.random.default_rng(4)
    queries, docs = random_tokens(rng, 6), random_tokens(rng, 20)
    got = maxsim(queries, docs, device="cpu", dtype=torch.bfloat16)
    np.testing.assert_allclose(got, maxsim_reference(queries, docs), atol=0.05)


def test_normalize_by_hand():
    raw = np.array([[3.0, 1.5], [0.5, -1.0]], np.float32)
    np.testing.assert_allclose(
        normalize_scores(raw, "mean", query_lengths=np.array([3, 2])), [[1.0, 0.5], [0.25, 0.0]]
    )
    np.testing.assert_allclose(
        normalize_scores(raw, "self", self_scores=np.array([2.0, 1.0])), [[1.0, 0.75], [0.5, 0.0]]
    )  # 3/2 clipped to 1, -1 clipped to 0
    with pytest.raises(InputError):
        normalize_scores(raw, "median")


def test_bad_shapes():
    with pytest.raises(InputError):
        pack([])
    with pytest.raises(InputError):
        pack([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(InputError, match="dim"):
        maxsim([np.ones((1, 3), np.float32)], [np.ones((1, 4), np.float32)])
