"""Training: the loss by hand, hard negatives, a real 2-step run, save/load and resume."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest
import torch

from kglink import EntityIndex, LateInteractionModel
from kglink.errors import InputError
from kglink.synonymy.groups import name_concepts
from kglink.training.loss import colbert_loss, maxsim_matrix
from kglink.training.mining import mine_hard_negatives
from kglink.training.trainer import Trainer

GROUPS = {
    "stanford": Counter({"stanford university": 3, "leland stanford junior university": 1, "stanford": 1}),
    "obama": Counter({"barack obama": 2, "obama": 1}),
    "hawaii": Counter({"hawaii": 2, "the university of hawaii": 1}),
    "born": Counter({"born in hawaii": 1}),
}


def test_loss_matches_a_hand_computed_batch():
    # two anchors of one token each; three candidate documents of up to two tokens
    queries = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    q_mask = torch.tensor([[True], [True]])
    docs = torch.tensor([[[0.6, 0.8], [1.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]], [[0.8, 0.6], [0.0, 0.0]]])
    d_mask = torch.tensor([[True, True], [True, False], [True, False]])
    scores = maxsim_matrix(queries, q_mask, docs, d_mask)
    np.testing.assert_allclose(scores.numpy(), [[1.0, 0.0, 0.8], [0.8, 1.0, 0.6]], atol=1e-6)
    # anchor 0's label is doc 0, anchor 1's is doc 1; anchor 1 ignores doc 2 (a synonym)
    ignore = torch.tensor([[False, False, False], [False, False, True]])
    loss = colbert_loss(scores, torch.tensor([0, 1]), temperature=0.5, ignore=ignore)
    l0 = -math.log(math.exp(2.0) / (math.exp(2.0) + math.exp(0.0) + math.exp(1.6)))
    l1 = -math.log(math.exp(2.0) / (math.exp(1.6) + math.exp(2.0)))
    assert loss.item() == pytest.approx((l0 + l1) / 2, abs=1e-6)


def test_maxsim_matrix_matches_the_reference(default_model):
    from kglink.scores import maxsim_reference

    names = ["stanford university", "leland stanford", "obama"]
    hidden, (q_mask, d_mask) = default_model.token_embeddings(names, (True, False))
    got = maxsim_matrix(hidden, q_mask, hidden, d_mask).detach().numpy()
    queries, docs = default_model.encode_query(names), default_model.encode_documents(names)
    want = maxsim_reference(queries, docs) / np.array([[len(q)] for q in queries])
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_hard_negatives_never_include_a_true_synonym(default_model):
    groups = {
        **GROUPS,
        "place": Counter({"stanford": 1, "stanford california": 1}),
    }  # "stanford" is ambiguous
    concepts = name_concepts(groups)
    names = sorted(concepts)
    negatives = mine_hard_negatives(default_model, names, concepts, per_name=len(names))
    for name, found in negatives.items():
        synonyms = {other for other in names if concepts[other] & concepts[name]}
        assert not synonyms & set(found)
        assert sorted(found) == sorted(set(names) - synonyms)  # every non-synonym, when asked for all
    top = mine_hard_negatives(default_model, names, concepts, per_name=1)
    scores = default_model.encode_query(["obama"])
    from kglink.scores import maxsim_reference

    others = [n for n in names if not concepts[n] & concepts["obama"]]
    best = others[int(np.argmax(maxsim_reference(scores, default_model.encode_documents(others))[0]))]
    assert top["obama"] == [best]


def _weights(model: LateInteractionModel) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.modules().state_dict().items()}


@pytest.mark.parametrize("ckpt", ["plain_ckpt", "pylate_ckpt"])
def test_two_steps_change_weights_and_save_a_checkpoint_that_loads_back(ckpt, request, tmp_path):
    model = LateInteractionModel.from_pretrained(str(request.getfixturevalue(ckpt)), show_progress=False)
    before = _weights(model)
    trainer = Trainer(
        model,
        GROUPS,
        tmp_path / "model",
        dev=GROUPS,
        epochs=2,
        batch_size=4,
        lr=1e-3,
        max_steps=2,
        show_progress=False,
    )
    result = trainer.fit()
    assert result.steps == 2
    after = _weights(model)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    loaded = LateInteractionModel.from_pretrained(str(tmp_path / "model"), show_progress=False)
    assert loaded.config.format == "pylate"
    assert loaded.synonym_threshold == result.threshold
    assert EntityIndex(loaded).threshold == result.threshold  # build and link use the calibrated one
    assert EntityIndex(loaded, threshold=0.9).threshold == 0.9
    texts = ["stanford university", "barack obama"]
    for a, b in zip(
        model.encode_documents(texts) + model.encode_query(texts),
        loaded.encode_documents(texts) + loaded.encode_query(texts),
    ):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_new_projection_is_trained_and_saved(plain_ckpt, tmp_path):
    model = LateInteractionModel.from_pretrained(str(plain_ckpt), show_progress=False)
    Trainer(
        model, GROUPS, tmp_path / "m", epochs=1, batch_size=4, projection_dim=8, show_progress=False
    ).fit()
    loaded = LateInteractionModel.from_pretrained(str(tmp_path / "m"), show_progress=False)
    assert loaded.dim == model.dim == 8
    np.testing.assert_allclose(loaded.encode_documents("obama"), model.encode_documents("obama"), atol=1e-6)


def test_resume_continues_the_same_schedule(plain_ckpt, tmp_path):
    def trainer(out, **kw):
        model = LateInteractionModel.from_pretrained(str(plain_ckpt), show_progress=False)
        return Trainer(model, GROUPS, out, epochs=3, batch_size=2, lr=1e-3, show_progress=False, **kw)

    straight = trainer(tmp_path / "a")
    straight.fit()
    first = trainer(tmp_path / "b", max_steps=6)  # stops mid-epoch 2 (7 anchors: 4 batches an epoch)
    assert first.fit().steps == 6
    resumed = trainer(tmp_path / "b")
    result = resumed.fit(resume=True)
    assert result.steps == straight.run["step"] == 12
    assert resumed.schedule.last_epoch == straight.schedule.last_epoch
    a, b = _weights(straight.model), _weights(resumed.model)
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=0)


def test_interpolate_by_hand():
    from kglink.training.merge import interpolate

    trained = {"w": torch.tensor([1.0, 3.0]), "ids": torch.tensor([5, 6])}
    start = {"w": torch.tensor([3.0, 7.0]), "ids": torch.tensor([0, 0])}
    got = interpolate(trained, start, 0.25)
    torch.testing.assert_close(got["w"], torch.tensor([1.5, 4.0]))  # 0.75 * trained + 0.25 * start
    assert torch.equal(got["ids"], trained["ids"])  # integer buffers are not averaged
    with pytest.raises(InputError, match="different tensors"):
        interpolate(trained, {"w": start["w"]}, 0.5)


def test_base_weight_saves_the_average_of_trained_and_starting_weights(plain_ckpt, tmp_path):
    def run(out, base_weight):
        model = LateInteractionModel.from_pretrained(str(plain_ckpt), show_progress=False)
        start = _weights(model)
        Trainer(
            model, GROUPS, out, epochs=1, batch_size=4, lr=1e-3, base_weight=base_weight, show_progress=False
        ).fit()
        return start, LateInteractionModel.from_pretrained(str(out), show_progress=False)

    start, plain = run(tmp_path / "plain", 0.0)
    _, merged = run(tmp_path / "merged", 0.4)
    trained, saved = _weights(plain), _weights(merged)
    assert any(not torch.equal(trained[k], start[k]) for k in start)
    for key in start:
        torch.testing.assert_close(saved[key], 0.6 * trained[key] + 0.4 * start[key], atol=1e-6, rtol=0)
    summary = json.loads((tmp_path / "merged" / "training.json").read_text())
    assert summary["base_weight"] == 0.4 and summary["threshold"] == merged.synonym_threshold


def test_without_dev_a_share_of_the_groups_is_held_out_for_calibration(plain_ckpt, tmp_path):
    groups = {f"c{i}": Counter({f"name {i}": 1, f"alias {i}": 1}) for i in range(30)}
    groups["single"] = Counter({"lonely": 1})
    model = LateInteractionModel.from_pretrained(str(plain_ckpt), show_progress=False)
    trainer = Trainer(model, groups, tmp_path / "m", hold_out=0.34, max_steps=1, show_progress=False)
    assert len(trainer.dev) == 10 and "single" in trainer.groups
    assert set(trainer.dev).isdisjoint(trainer.groups) and len(trainer.groups) == 21
    result = trainer.fit()
    assert result.dev is not None and result.dev.gold_pairs == 10  # one pair per held-out group
    few = Trainer(model, GROUPS, tmp_path / "few", show_progress=False)  # 3 multi-name groups: too few
    assert few.dev is None and few.groups == GROUPS
