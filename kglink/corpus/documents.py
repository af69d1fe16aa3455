"""Documents in: a corpus file (JSON list or JSON Lines) or a folder of text files, as passages.

A :class:`Passage` has a stable ``id``, a ``title`` and a ``text``. Ids are content
hashes (:func:`passage_id`, as HippoRAG 2 names its chunks) unless a record brings its
own, so the same passage gets the same id on every run.

>>> passage_id("hello")
'chunk-5d41402abc4b2a76b9719d911017c592'
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

from kglink.artifacts import read_json, read_jsonl, read_text
from kglink.errors import InputError

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class Passage:
    """One passage: its stable ``id``, its ``title`` (``""`` if unknown) and its ``text``.

    A passage cut from a longer document (see :mod:`kglink.corpus.chunking`) also knows where it
    came from: the document's ``source`` id and the ``start``/``end`` character offsets
    of ``text`` in the document's text (``""`` and ``-1`` when unknown). These metadata
    take no part in equality: two passages are equal when id, title and text are.
    """

    id: str
    title: str
    text: str
    source: str = dataclass_field(default="", compare=False)
    start: int = dataclass_field(default=-1, compare=False)
    end: int = dataclass_field(default=-1, compare=False)

    @property
    def content(self) -> str:
        """``"title\\ntext"`` (just the text if there is no title), as HippoRAG 2 indexes it."""
        return f"{self.title}\n{self.text}" if self.title else self.text


def passage_id(text: str) -> str:
    """Stable id of a passage: ``"chunk-" + md5(text)``, as HippoRAG 2 names its chunks.

    Examples
    --------
    >>> passage_id("Paris\\nParis is the capital of France.")[:14]
    'chunk-61b2b503'
    """
    return "chunk-" + hashlib.md5(text.encode("utf-8")).hexdigest()


def load_corpus(path: str | os.PathLike) -> list[Passage]:
    """Read a corpus file: a JSON list of ``{"title", "text"}`` or ``{"id", "text"}`` records.

    A record without ``id`` gets ``passage_id(title + "\\n" + text)`` (or of the text
    alone when there is no title), the string HippoRAG 2 would have indexed.

    Raises
    ------
    InputError
        If the file is unreadable, not a list, or a record lacks a non-empty ``text``.
    """
    raw = read_json(path, "corpus file")
    if not isinstance(raw, list):
        raise InputError(
            f"corpus file {path} holds a {type(raw).__name__}; "
            'expected a JSON list of {"title", "text"} records (`kglink build --corpus` also '
            "takes a .jsonl file or a folder of .txt/.md files)"
        )
    return [_corpus_record(rec, i, path) for i, rec in enumerate(raw)]


def _corpus_record(rec: Any, i: int, path: str | os.PathLike) -> Passage:
    where = f"corpus file {path}, record #{i}"
    if not isinstance(rec, dict):
        raise InputError(f"{where} is a {type(rec).__name__}; each record must be an object")
    text, title, given = rec.get("text"), rec.get("title", ""), rec.get("id")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where} has no non-empty 'text' string; fix or drop the record")
    if not isinstance(title, str):
        raise InputError(f"{where}: 'title' is a {type(title).__name__}; make it a string")
    if given is not None and not isinstance(given, (str, int)):
        raise InputError(f"{where}: 'id' is a {type(given).__name__}; make it a string")
    content = f"{title}\n{text}" if title else text
    return Passage(id=str(given) if given is not None else passage_id(content), title=title, text=text)


def load_documents(path: str | os.PathLike) -> list[Passage]:
    """Read a corpus: a JSON list, a JSONL file (``.jsonl``/``.ndjson``) or a folder of text files.

    Records are ``{"title", "text"}`` or ``{"id", "text"}`` objects, as for
    :func:`load_corpus`. In a folder, every ``.txt`` and ``.md`` file
    (recursively, in sorted order) is one document: its id is the path relative to the
    folder, its title the file name without suffix; empty files are skipped.

    Raises
    ------
    InputError
        If the path is missing, a file is not UTF-8 or not valid JSON, or a record is unusable.
    """
    path = Path(path)
    if path.is_dir():
        return _load_folder(path)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return [_corpus_record(rec, lineno - 1, path) for lineno, rec in read_jsonl(path, "corpus file")]
    return load_corpus(path)


def _load_folder(folder: Path) -> list[Passage]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
    if not files:
        raise InputError(f"{folder} holds no .txt or .md files; give a folder of text files or a JSON file")
    docs = []
    for file in files:
        text = read_text(file, "corpus file")
        if text.strip():
            docs.append(Passage(file.relative_to(folder).as_posix(), file.stem, text))
        else:
            logger.warning("skipped empty file %s", file)
    return docs
