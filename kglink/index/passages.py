"""Dense late-interaction passage retrieval: passages chunked to the model's length, MaxSim top-k.

It is both the baseline graph retrieval must beat and its fallback when a question
links to no entity. A passage's score is the best MaxSim among its chunks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from kglink.artifacts import read_config, read_folder, write_config, write_folder
from kglink.checks import check_count, check_names
from kglink.corpus import Passage, token_windows
from kglink.encoder.model import LateInteractionModel
from kglink.errors import InputError
from kglink.index.tokens import LateInteractionIndex, check_encoded_by

logger = logging.getLogger(__name__)


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

    def add(self, passages: Sequence[Passage], progress: bool | None = None) -> None:
        """Encode and add passages; each becomes one or more chunks of the model's length."""
        limit = self.model.max_length(is_query=False) - 3  # [CLS], marker, [SEP]
        ids, owners, texts = [], [], []
        for p in passages:
            for k, piece in enumerate(token_windows(p.content, self.model.tokenizer, limit)):
                ids.append(f"{p.id}#{k}")
                owners.append(p.id)
                texts.append(piece)
        if not ids:
            return
        self.chunks.add(self.model.encode_documents(texts, progress=progress), owners, ids)
        self.chunks.build_candidates()  # now, once: it is saved with the index
        logger.info("indexed %d passages as %d chunks", len(passages), len(ids))

    def search(self, questions: Sequence[str], top_k: int = 5) -> list[list[tuple[str, float]]]:
        """Per question, ``(passage_id, raw MaxSim)`` best first."""
        if not len(self.chunks):
            raise InputError("the passage index is empty; build the graph with a corpus")
        questions = check_names(questions, "question")
        top_k = min(check_count(top_k, "top_k"), len(self.chunks))
        if not questions:
            return []
        queries = self.model.encode_query(questions)
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
        """Write the index to ``folder``, all at once (see :mod:`kglink.artifacts`)."""
        with write_folder(folder, "passage_index") as tmp:
            self.write(tmp)

    def write(self, folder: Path) -> None:
        """Write the index's files into ``folder`` as they are."""
        self.chunks.write(folder / "chunks")
        config = {"model": self.model.name, "dim": self.model.dim, "passages": len(self)}
        write_config(folder / "config.json", "passage_index", **config)

    @classmethod
    def load(cls, folder: str | Path, model: LateInteractionModel) -> PassageIndex:
        """Load a saved passage index encoded with ``model``."""
        return read_folder(folder, lambda path: cls.read(path, model))

    @classmethod
    def read(cls, folder: Path, model: LateInteractionModel) -> PassageIndex:
        """Read the index's files from ``folder`` as they are."""
        config = read_config(folder / "config.json", "passage_index", {"model": str, "dim": int})
        check_encoded_by(config, model.name, model.dim, folder)
        index = cls(model)
        index.chunks, _ = LateInteractionIndex.read(folder / "chunks")
        return index
