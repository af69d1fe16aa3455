"""The encoder against a hand-written forward pass, PyLate's own outputs, and bad input."""

from __future__ import annotations

import json
import shutil
import string

import numpy as np
import pytest
import torch

from kglink import InputError, LateInteractionModel, ModelLoadError
from tests.conftest import shared_path

TEXTS = ["Stanford University", "Leland, Stanford Junior University!", "barack obama born in hawaii"]


def reference_encode(folder, projection, texts, marker, length, is_query, expand=True):
    """BERT -> linear -> keep mask -> L2 normalise, written out by hand, one text at a time."""
    from transformers import AutoTokenizer, BertModel

    tok = AutoTokenizer.from_pretrained(folder)
    bert = BertModel.from_pretrained(folder).eval()
    out = []
    for text in texts:
        pieces = tok.tokenize(text)[: length - 3]
        ids = tok.convert_tokens_to_ids(["[CLS]", marker, *pieces, "[SEP]"])
        real = len(ids)
        if is_query and expand:
            ids += [tok.mask_token_id] * (length - real)
        attention = torch.tensor([[1] * real + [0] * (len(ids) - real)])
        with torch.no_grad():
            hidden = bert(torch.tensor([ids]), attention_mask=attention).last_hidden_state[0]
        vectors = hidden @ projection.T
        punct = set(tok.convert_tokens_to_ids(list(string.punctuation)))
        keep = [i for i, t in enumerate(ids) if is_query or (t not in punct)]
        vectors = vectors[keep]
        out.append((vectors / vectors.norm(dim=1, keepdim=True)).numpy())
    return out


def _close(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == np.float32 and g.shape == w.shape
        np.testing.assert_allclose(g, w, atol=1e-5)


def test_stanford_checkpoint_matches_reference(stanford_ckpt):
    from safetensors.torch import load_file

    model = LateInteractionModel.from_pretrained(str(stanford_ckpt), device="cpu", show_progress=False)
    assert model.config.format == "stanford" and model.dim == 8
    assert (model.config.query_length, model.config.document_length) == (10, 12)
    weight = load_file(stanford_ckpt / "model.safetensors")["linear.weight"]
    _close(model.encode_query(TEXTS), reference_encode(stanford_ckpt, weight, TEXTS, "[unused0]", 10, True))
    _close(
        model.encode_documents(TEXTS), reference_encode(stanford_ckpt, weight, TEXTS, "[unused1]", 12, False)
    )


def test_stanford_checkpoint_from_pytorch_bin(stanford_ckpt, tmp_path):
    from safetensors.torch import load_file

    folder = tmp_path / "bin"
    shutil.copytree(stanford_ckpt, folder)
    state = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")
    a = LateInteractionModel.from_pretrained(str(folder), show_progress=False).encode_documents(TEXTS)
    b = LateInteractionModel.from_pretrained(str(stanford_ckpt), show_progress=False).encode_documents(TEXTS)
    _close(a, b)


def test_pylate_checkpoint_matches_reference(pylate_ckpt):
    from safetensors.torch import load_file

    model = LateInteractionModel.from_pretrained(str(pylate_ckpt), show_progress=False)
    assert model.config.format == "pylate" and model.dim == 6
    weight = load_file(pylate_ckpt / "1_Dense" / "model.safetensors")["linear.weight"]
    queries = model.encode_query(TEXTS)
    assert all(q.shape == (9, 6) for q in queries)  # padded with [MASK] to the query length
    _close(queries, reference_encode(pylate_ckpt, weight, TEXTS, "[Q] ", 9, True))
    _close(model.encode_documents(TEXTS), reference_encode(pylate_ckpt, weight, TEXTS, "[D] ", 11, False))


def test_pylate_fixture_written_by_pylate_itself():
    folder = shared_path("fixtures", "pylate-tiny")
    meta = json.loads((folder.parent / "pylate-tiny-expected.json").read_text())
    want = np.load(folder.parent / "pylate-tiny-expected.npz")
    model = LateInteractionModel.from_pretrained(str(folder), show_progress=False)
    docs = model.encode_documents(meta["documents"])
    queries = model.encode_query(meta["queries"])
    _close(docs, [want[f"doc{i}"] for i in range(len(docs))])
    _close(queries, [want[f"query{i}"] for i in range(len(queries))])


def test_batching_and_order_do_not_change_vectors(pylate_ckpt):
    model = LateInteractionModel.from_pretrained(str(pylate_ckpt), show_progress=False)
    texts = TEXTS * 3 + ["the"]
    one_by_one = [model.encode_documents([t])[0] for t in texts]
    _close(model.encode_documents(texts, batch_size=4), one_by_one)


def test_embedded_default(default_model):
    assert default_model.config.format == "plain" and default_model.dim == 384
    assert not default_model.config.query_expansion
    doc = default_model.encode_documents("Stanford, University")
    query = default_model.encode_query("Stanford, University")
    assert doc.shape == (4, 384) and query.shape == (5, 384)  # the comma is dropped from documents only
    np.testing.assert_allclose(np.linalg.norm(doc, axis=1), 1.0, atol=1e-5)
    queries, docs = default_model.encode_both(["Stanford, University"])
    _close(queries, [query])
    _close(docs, [doc])


def test_bfloat16_stays_close(pylate_ckpt):
    fp32 = LateInteractionModel.from_pretrained(str(pylate_ckpt), show_progress=False)
    bf16 = LateInteractionModel.from_pretrained(str(pylate_ckpt), show_progress=False, dtype="bfloat16")
    for a, b in zip(fp32.encode_documents(TEXTS), bf16.encode_documents(TEXTS)):
        assert b.dtype == np.float32
        assert np.min(np.sum(a * b, axis=1)) > 0.98  # cosine between the two encodings


@pytest.mark.parametrize("bad", [[""], ["  "], "one string is fine but", [None]])
def test_bad_texts(default_model, bad):
    if isinstance(bad, str):
        assert default_model.encode_query(bad).ndim == 2
        return
    with pytest.raises(InputError):
        default_model.encode_documents(bad)


def test_load_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="neither a folder nor a hub id"):
        LateInteractionModel.from_pretrained(str(tmp_path / "missing" / "deep" / "path"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="config.json"):
        LateInteractionModel.from_pretrained(str(tmp_path / "empty"))
    with pytest.raises(InputError, match="dtype"):
        LateInteractionModel.from_pretrained(dtype="float8")
    with (
        pytest.raises(InputError, match="no CUDA")
        if not torch.cuda.is_available()
        else pytest.raises(Exception)
    ):
        LateInteractionModel.from_pretrained(device="cuda")


def test_stanford_without_linear_weight(stanford_ckpt, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "nolinear"
    shutil.copytree(stanford_ckpt, folder)
    state = load_file(folder / "model.safetensors")
    del state["linear.weight"]
    save_file(state, folder / "model.safetensors")
    with pytest.raises(ModelLoadError, match="linear.weight"):
        LateInteractionModel.from_pretrained(str(folder))
