"""Dense late-interaction passage retrieval: passages chunked to the model's length, MaxSim top-k.

It is both the baseline graph retrieval must beat and its fallback when a question
links to no entity. A passage's score is the best MaxSim among its chunks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from kglink import __version__
from kglink.errors import IndexMismatchError, InputError
from kglink.index import LateInteractionIndex
from kglink.io import atomic_write_json, read_artifact_json
from kglink.model import LateInteractionModel
from kglink.openie import Passage

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1


def chunk_text(model: LateInteractionModel, text: str, max_tokens: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_tokens`` word pieces, at word boundaries.

    >>> model = LateInteractionModel.from_pretrained(show_progress=False)
    >>> chunk_text(model, "one two three four five", 2)
    ['one two', 'three four', 'five']
    """
    enc = model.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    offsets, words = enc["offset_mapping"], enc.word_ids()
    pieces, start = [], 0
    while start < len(offsets):
        stop = min(start + max_tokens, len(offsets))
        while stop < len(offsets) and stop > start + 1 and words[stop] == words[stop - 1]:
            stop -= 1  # do not split a word between two chunks
        pieces.append(text[offsets[start][0] : offsets[stop - 1][1]].strip())
        start = stop
    return [p for p in pieces if p] or [text]


class PassageIndex:
    """Passages encoded as documents (chunked), searched by MaxSim."""

    def __init__(self, model: LateInteractionModel) -> None:
        self.model = model
        # ids "pid#k", texts the passage ids; faiss candidates even when small (one query at a time)
        self.chunks = LateInteractionIndex(
            device=model.device, exhaustive_below=0, candidate_tokens=16, nprobe=16
        )

    def __len__(self) -> int:
        return len({self.chunks.text(i) for i in self.chunks.ids})

    def __contains__(self, passage_id: str) -> bool:
        return f"{passage_id}#0" in self.chunks

    def add(self, passages: Sequence[Passage]) -> None:
        """Encode and add passages; each becomes one or more chunks of the model's length."""
        limit = self.model.max_length(is_query=False) - 3  # [CLS], marker, [SEP]
        ids, owners, texts = [], [], []
        for p in passages:
            for k, piece in enumerate(chunk_text(self.model, p.content, limit)):
                ids.append(f"{p.id}#{k}")
                owners.append(p.id)
                texts.append(piece)
        if not ids:
            return
        self.chunks.add(self.model.encode_documents(texts), owners, ids)
        logger.info("indexed %d passages as %d chunks", len(passages), len(ids))

    def search(self, questions: Sequence[str], top_k: int = 5) -> list[list[tuple[str, float]]]:
        """Per question, ``(passage_id, raw MaxSim)`` best first."""
        if not len(self.chunks):
            raise InputError("the passage index is empty; build the graph with a corpus")
        queries = self.model.encode_query(list(questions))
        scores, pos = self.chunks.search_arrays(queries, top_k * 4)  # several chunks may share a passage
        out = []
        for row_s, row_p in zip(scores, pos):
            best: dict[str, float] = {}
            for s, p in zip(row_s, row_p):
                if p >= 0:
                    owner = self.chunks.text(self.chunks.id_at(p))
                    best.setdefault(owner, float(s))
            out.append(list(best.items())[:top_k])
        return out

    def scores(self, question: str, top_k: int = 200) -> dict[str, float]:
        """Raw MaxSim of the ``top_k`` best passages for ``question`` (faiss candidates, exact rerank)."""
        return dict(self.search([question], top_k)[0])

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        self.chunks.save(folder / "chunks")
        atomic_write_json(
            folder / "config.json",
            {
                "format_version": FORMAT_VERSION,
                "kglink_version": __version__,
                "kind": "passage_index",
                "model": self.model.name,
                "dim": self.model.dim,
                "passages": len(self),
            },
        )

    @classmethod
    def load(cls, folder: str | Path, model: LateInteractionModel) -> PassageIndex:
        folder = Path(folder)
        config = read_artifact_json(folder / "config.json", "passage index config")
        if (config["model"], config["dim"]) != (model.name, model.dim):
            raise IndexMismatchError(
                f"{folder} was encoded with {config['model']!r}, not {model.name!r}; rebuild the graph"
            )
        index = cls(model)
        index.chunks, _ = LateInteractionIndex.load(folder / "chunks")
        return index
