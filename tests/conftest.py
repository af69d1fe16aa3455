"""Shared fixtures: tiny random checkpoints in the Stanford and PyLate layouts, written once."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
import torch
from llm_servers import serve, smollm2_server  # noqa: F401  (fixtures for the LLM tests)

SHARED = Path(__file__).resolve().parents[2] / "shared"
collect_ignore = ["artifacts/crash_worker.py"]  # a script the crash tests run (and kill), not a test
WORDS = ["stanford", "university", "leland", "junior", "obama", "barack", "born", "in", "hawaii", "the", "of"]
SPECIALS = ["[PAD]", "[unused0]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test when that folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (shared data lives beside the repo, see README)")
    return path


def _tiny_bert(folder: Path, extra_tokens: list[str] = ()):
    """A 2-layer random BERT with a 50-word vocabulary, saved with its tokenizer."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder.mkdir(parents=True)
    (folder / "vocab.txt").write_text("\n".join(SPECIALS + list(string.punctuation) + WORDS) + "\n")
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "BertTokenizer", "do_lower_case": True})
    )
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.add_tokens(list(extra_tokens))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    bert = BertModel(config).eval()
    tokenizer.save_pretrained(folder)
    return tokenizer, bert


@pytest.fixture(scope="session")
def stanford_ckpt(tmp_path_factory) -> Path:
    """HF_ColBERT layout: bert.* + linear.weight in one safetensors file, artifact.metadata."""
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("ckpt") / "stanford"
    _, bert = _tiny_bert(folder)
    weight = torch.randn(8, 32, generator=torch.Generator().manual_seed(1))
    state = {f"bert.{k}": v.contiguous() for k, v in bert.state_dict().items()}
    save_file({**state, "linear.weight": weight}, folder / "model.safetensors")
    config = bert.config.to_dict() | {"architectures": ["HF_ColBERT"]}
    (folder / "config.json").write_text(json.dumps(config))
    meta = {"query_token_id": "[unused0]", "doc_token_id": "[unused1]", "query_maxlen": 10, "doc_maxlen": 12}
    (folder / "artifact.metadata").write_text(json.dumps(meta))
    return folder


@pytest.fixture(scope="session")
def pylate_ckpt(tmp_path_factory) -> Path:
    """PyLate layout: transformer at the root, 1_Dense/, prefixes added as new tokens."""
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("ckpt") / "pylate"
    _, bert = _tiny_bert(folder, ["[Q] ", "[D] "])
    bert.save_pretrained(folder)
    (folder / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Dense", "type": "pylate.models.Dense.Dense"},
            ]
        )
    )
    (folder / "config_sentence_transformers.json").write_text(
        json.dumps(
            {
                "query_prefix": "[Q] ",
                "document_prefix": "[D] ",
                "query_length": 9,
                "document_length": 11,
                "do_query_expansion": True,
                "attend_to_expansion_tokens": False,
                "skiplist_words": list(string.punctuation),
            }
        )
    )
    (folder / "1_Dense").mkdir()
    (folder / "1_Dense" / "config.json").write_text(
        json.dumps(
            {
                "in_features": 32,
                "out_features": 6,
                "bias": False,
                "activation_function": "torch.nn.modules.linear.Identity",
            }
        )
    )
    weight = torch.randn(6, 32, generator=torch.Generator().manual_seed(2))
    save_file({"linear.weight": weight}, folder / "1_Dense" / "model.safetensors")
    return folder


@pytest.fixture(scope="session")
def default_model():
    """The embedded default encoder (all-MiniLM-L6-v2), loaded once."""
    from kglink import LateInteractionModel

    return LateInteractionModel.from_pretrained(show_progress=False)


@pytest.fixture(scope="session")
def plain_ckpt(tmp_path_factory) -> Path:
    """A plain transformers folder (no projection, no markers), like the embedded default."""
    folder = tmp_path_factory.mktemp("ckpt") / "plain"
    _, bert = _tiny_bert(folder)
    bert.save_pretrained(folder)
    return folder
