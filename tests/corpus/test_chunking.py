"""Corpus loading (JSON, JSONL, folders) and sentence-aware chunking by model tokens."""

from __future__ import annotations

import json

import pytest

from kglink.corpus import (
    Passage,
    chunk_document,
    chunk_documents,
    load_corpus,
    load_documents,
    load_passages,
    passage_id,
    split_sentences,
    token_spans,
)
from kglink.errors import InputError
from tests.conftest import shared_path

TEXT = (
    "Ada Lovelace was a mathematician. She worked with Charles Babbage on the Analytical Engine. "
    "Her notes include the first published algorithm. She died in 1852 in London."
)


def test_json_records_match_load_corpus(tmp_path):
    records = [{"title": "Paris", "text": "Paris is in France."}, {"id": "x7", "text": "No title here."}]
    path = tmp_path / "c.json"
    path.write_text(json.dumps(records))
    docs = load_documents(path)
    assert docs == load_corpus(path)
    assert docs[0].id == passage_id("Paris\nParis is in France.") and docs[1].id == "x7"


def test_jsonl_and_its_errors(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"title": "A", "text": "Alpha."}\n\n{"id": 3, "text": "Gamma."}\n')
    assert [(d.id, d.title, d.text) for d in load_documents(path)] == [
        (passage_id("A\nAlpha."), "A", "Alpha."),
        ("3", "", "Gamma."),
    ]
    path.write_text('{"title": "A", "text": "Alpha."}\n{"title": oops}\n')
    with pytest.raises(InputError, match="line 2 is not valid JSON"):
        load_documents(path)
    path.write_text('{"title": "A"}\n')
    with pytest.raises(InputError, match="no non-empty 'text'"):
        load_documents(path)


def test_folder_of_text_files(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.md").write_text("# Bee\nBees make honey.")
    (tmp_path / "sub" / "a.txt").write_text("Ants dig.")
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "skip.csv").write_text("x,y")
    docs = load_documents(tmp_path)
    assert [(d.id, d.title, d.text) for d in docs] == [
        ("b.md", "b", "# Bee\nBees make honey."),
        ("sub/a.txt", "a", "Ants dig."),
    ]
    with pytest.raises(InputError, match="no .txt or .md files"):
        load_documents(tmp_path / "sub" / "missing") if False else load_documents(_empty_dir(tmp_path))


def _empty_dir(tmp_path):
    folder = tmp_path / "nothing"
    folder.mkdir()
    return folder


def test_not_a_list_or_not_utf8(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"docs": []}')
    with pytest.raises(InputError, match="expected a JSON list"):
        load_documents(path)
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9")
    with pytest.raises(InputError, match="not UTF-8"):
        load_documents(tmp_path)


def test_split_sentences_keeps_abbreviations_and_initials():
    text = (
        'St. Mary\'s was built by J. R. Smith in the U.S. in 1900. It burned (twice). "Then" it was rebuilt.'
    )
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "St. Mary's was built by J. R. Smith in the U.S. in 1900.",
        "It burned (twice).",
        '"Then" it was rebuilt.',
    ]
    assert split_sentences("   ") == []
    quoted = 'He said "Go." Then he left.'  # closing quotes end the sentence they close
    assert [quoted[a:b] for a, b in split_sentences(quoted)] == ['He said "Go."', "Then he left."]


def test_chunks_are_whole_sentences_within_budget_with_offsets():
    doc = Passage("doc-1", "Ada", TEXT)
    chunks = chunk_document(doc, max_tokens=16)
    # sentence word counts: 5, 10, 7, 7 -> [5], [10], [7, 7]? no: 5+10 = 15 fits, then 7+7 = 14
    assert [c.text for c in chunks] == [
        "Ada Lovelace was a mathematician. She worked with Charles Babbage on the Analytical Engine.",
        "Her notes include the first published algorithm. She died in 1852 in London.",
    ]
    for c in chunks:
        assert TEXT[c.start : c.end] == c.text and c.source == "doc-1" and c.title == "Ada"
        assert c.id == passage_id(f"Ada\n{c.text}")
        assert len(token_spans(c.text)) <= 16


def test_a_short_document_stays_whole_with_its_id():
    doc = Passage("given-id", "T", "  One sentence.  ")
    (p,) = chunk_document(doc, max_tokens=256)
    assert (p.id, p.text, p.source, p.start, p.end) == ("given-id", "  One sentence.  ", "given-id", 0, 17)
    assert chunk_document(Passage("d", "", TEXT), max_tokens=0)[0].text == TEXT
    with pytest.raises(InputError, match="positive token budget"):
        chunk_document(doc, max_tokens=-1)


def test_a_long_sentence_is_cut_between_words():
    words = [f"w{i}" for i in range(25)]
    doc = Passage("d", "", " ".join(words) + ".")
    chunks = chunk_document(doc, max_tokens=10)
    assert [len(c.text.split()) for c in chunks] == [10, 10, 5]
    assert " ".join(c.text for c in chunks) == doc.text


def test_model_tokens_and_repeated_chunks(default_model):
    long = " ".join(["Stanford University is in California."] * 30)  # about 6 word pieces a sentence
    chunks = chunk_document(Passage("s", "", long), default_model, max_tokens=64)
    assert len(chunks) > 1
    assert all(
        len(default_model.tokenizer(c.text, add_special_tokens=False)["input_ids"]) <= 64 for c in chunks
    )
    assert all(c.text.endswith(".") for c in chunks)
    # identical chunks share a content hash: kept once
    assert len(chunk_documents([Passage("s", "", long)], default_model, 64)) == len({c.id for c in chunks})


def test_musique_corpus_unchunked_equals_load_corpus():
    path = shared_path("data", "hipporag", "musique_train_corpus.json")
    assert load_passages(path, max_tokens=0) == load_corpus(path)
