"""Tests of kglink.corpus on tiny hand-written OpenIE files in both HippoRAG layouts."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest

from kglink.corpus import Passage, load_corpus, load_openie, passage_id
from kglink.errors import InputError

P_ANN = "Ann\nAnn met Bob in Paris."
P_BOB = "Bob\nBob greeted Ann."


def v1_data() -> dict:
    """Two docs; doc 0 has 3 malformed triples and one blank entity."""
    return {
        "docs": [
            {
                "idx": 0,
                "title": "Ann",
                "passage": P_ANN,
                "extracted_entities": ["Ann", "Bob", "Paris", " ", "Bob"],
                "extracted_triples": [
                    ["Ann", "met", "Bob"],
                    ["Ann", "visited", "Paris"],
                    ["Ann", "met"],
                    ["Bob", 3, "Paris"],
                    ["Bob", " ", "Paris"],
                ],
            },
            {
                "idx": 1,
                "title": "Bob",
                "passage": P_BOB,
                "extracted_entities": ["Bob", "ANN"],
                "extracted_triples": [[" Bob ", "greeted", "Ann"]],
            },
        ],
        "ents_by_doc": [],
    }


def v2_data() -> dict:
    return {
        "docs": [
            {
                "idx": passage_id(P_ANN),
                "passage": P_ANN,
                "extracted_entities": ["Ann", "Paris"],
                "extracted_triples": [["Ann", "visited", "Paris"], ["Ann", "x", "y", "z"]],
            },
            {
                "idx": "chunk-given",
                "passage": "Bob greeted Ann.",
                "extracted_entities": [],
                "extracted_triples": [],
            },
        ],
        "avg_ent_chars": 4.0,
        "avg_ent_words": 1.0,
    }


def write(tmp_path: Path, obj: object, name: str = "openie.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def test_passage_id_is_hipporag2_chunk_id() -> None:
    assert passage_id("abc") == "chunk-" + hashlib.md5(b"abc").hexdigest()


def test_load_v1(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kglink.corpus"):
        data = load_openie(write(tmp_path, v1_data()))
    assert data.layout == "v1"
    assert data.malformed_triples == 3
    assert "skipped 3 malformed triples" in caplog.text
    first, second = data.docs
    assert first.passage == Passage(passage_id(P_ANN), "Ann", "Ann met Bob in Paris.")
    assert first.entities == ("Ann", "Bob", "Paris")  # blank dropped, repeat dropped
    assert first.triples == (("Ann", "met", "Bob"), ("Ann", "visited", "Paris"))
    assert second.triples == (("Bob", "greeted", "Ann"),)  # parts stripped
    assert second.passage.content == P_BOB


def test_load_v2_same_ids_as_v1(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kglink.corpus"):
        data = load_openie(write(tmp_path, v2_data()))
    assert data.layout == "v2"
    assert data.malformed_triples == 1
    first, second = data.docs
    assert first.passage == Passage(passage_id(P_ANN), "", P_ANN)
    assert second.passage.id == "chunk-given"  # a given idx is kept
    assert "kept 1 given idx" in caplog.text
    v1 = load_openie(write(tmp_path, v1_data(), "v1.json"))
    assert v1.docs[0].passage.id == first.passage.id


def test_corpus_join(tmp_path: Path) -> None:
    corpus = [
        {"title": "Cy", "text": "Cy is alone."},
        {"title": "Ann", "text": "Ann met Bob in Paris."},
        {"title": "Bob", "text": "Bob greeted Ann."},
        {"title": "Ann", "text": "Ann met Bob in Paris."},  # repeated: skipped
    ]
    v2 = v2_data()
    v2["docs"].append(
        {"passage": "Dee\nNot in corpus.", "extracted_entities": ["Dee"], "extracted_triples": []}
    )
    data = load_openie(write(tmp_path, v2), write(tmp_path, corpus, "corpus.json"))
    ids = [d.passage.id for d in data.docs]
    assert ids == [
        passage_id("Cy\nCy is alone."),
        passage_id(P_ANN),
        passage_id(P_BOB),  # matched by text alone; the corpus gives title and id
        passage_id("Dee\nNot in corpus."),
    ]
    cy, ann, bob, dee = data.docs
    assert cy.entities == () and cy.triples == ()
    assert ann.passage.title == "Ann" and ann.entities == ("Ann", "Paris")
    assert bob.passage == Passage(passage_id(P_BOB), "Bob", "Bob greeted Ann.")
    assert dee.entities == ("Dee",)


def test_load_corpus_records(tmp_path: Path) -> None:
    path = write(tmp_path, [{"id": "d1", "text": "One."}, {"title": "T", "text": "Two."}])
    assert load_corpus(path) == [
        Passage("d1", "", "One."),
        Passage(passage_id("T\nTwo."), "T", "Two."),
    ]


@pytest.mark.parametrize(
    ("corpus", "message"),
    [
        ({"title": "T", "text": "x"}, "JSON list"),
        (["text"], "record #0"),
        ([{"title": "T"}], "'text'"),
        ([{"text": "x", "title": 5}], "'title'"),
    ],
)
def test_bad_corpus(tmp_path: Path, corpus: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_corpus(write(tmp_path, corpus, "corpus.json"))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["docs"].__setitem__(1, "text"), r"docs\[1\] is a str"),
        (lambda d: d["docs"][1].pop("passage"), r"docs\[1\] has no non-empty 'passage'"),
        (
            lambda d: d["docs"][1].update(extracted_entities="Bob"),
            r"\['extracted_entities'\] is str",
        ),
        (lambda d: d["docs"][1].pop("extracted_triples"), r"\['extracted_triples'\] is missing"),
        (lambda d: d.pop("docs"), "no 'docs' list"),
    ],
)
def test_bad_docs_name_file_doc_and_field(tmp_path: Path, mutate, message: str) -> None:
    data = v1_data()
    mutate(data)
    path = write(tmp_path, data)
    with pytest.raises(InputError, match=message) as info:
        load_openie(path)
    assert str(path) in str(info.value)


def test_top_level_list_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no 'docs' list"):
        load_openie(write(tmp_path, [1, 2]))


def test_non_utf8_and_invalid_json(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.json"
    bad.write_bytes('{"docs": ["café"]}'.encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        load_openie(bad)
    broken = tmp_path / "broken.json"
    broken.write_text('{"docs": [', encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_openie(broken)
    with pytest.raises(InputError, match="not found"):
        load_openie(tmp_path / "missing.json")
