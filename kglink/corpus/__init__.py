"""Passages in: documents read from a corpus, chunked, and the OpenIE records of them.

- :mod:`~kglink.corpus.documents`: :class:`Passage`, :func:`passage_id`, corpus files and
  folders of text files (:func:`load_corpus`, :func:`load_documents`);
- :mod:`~kglink.corpus.chunking`: the one chunker (:func:`chunk_document`,
  :func:`load_passages`, and :func:`token_windows` for the dense index);
- :mod:`~kglink.corpus.openie`: HippoRAG OpenIE files (:func:`load_openie`) and a graph
  folder's ``openie.json`` (:func:`write_extractions`, :func:`read_extractions`).

Nothing here imports torch: a tokenizer, where one is needed, is passed in.
"""

from kglink.corpus.chunking import (
    DEFAULT_CHUNK_TOKENS,
    chunk_document,
    chunk_documents,
    load_passages,
    split_sentences,
    token_spans,
    token_windows,
)
from kglink.corpus.documents import TEXT_SUFFIXES, Passage, load_corpus, load_documents, passage_id
from kglink.corpus.openie import (
    OPENIE_FILE,
    OpenIEData,
    OpenIEDoc,
    Triple,
    load_openie,
    merge_extractions,
    openie_doc,
    read_extractions,
    write_extractions,
)

__all__ = [
    "DEFAULT_CHUNK_TOKENS",
    "OPENIE_FILE",
    "TEXT_SUFFIXES",
    "OpenIEData",
    "OpenIEDoc",
    "Passage",
    "Triple",
    "chunk_document",
    "chunk_documents",
    "load_corpus",
    "load_documents",
    "load_openie",
    "load_passages",
    "merge_extractions",
    "openie_doc",
    "passage_id",
    "read_extractions",
    "split_sentences",
    "token_spans",
    "token_windows",
    "write_extractions",
]
