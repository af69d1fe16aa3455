"""The CLI never destroys what kglink did not write, and --update does what it is told or says no."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kglink.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "graphs" / "sample"


def _run(*args: str):
    return CliRunner().invoke(main, [*args])


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def small(tmp_path_factory, plain_ckpt) -> tuple[Path, Path]:
    """A graph of 5 sample passages built with the tiny checkpoint, and the OpenIE file of 8."""
    work = tmp_path_factory.mktemp("safety")
    docs = json.loads((SAMPLE / "openie.json").read_text())["docs"]
    (work / "five.json").write_text(json.dumps({"docs": docs[:5]}))
    (work / "eight.json").write_text(json.dumps({"docs": docs[:8]}))
    out = work / "g"
    args = ["build", "--openie", str(work / "five.json"), "--out", str(out), "--model", str(plain_ckpt)]
    result = _run(*args, "--threshold", "0.9", "--no-progress")
    assert result.exit_code == 0, result.output
    return out, work / "eight.json"


def test_build_into_a_folder_kglink_did_not_write_fails_before_any_work(tmp_path):
    folder = tmp_path / "D"
    folder.mkdir()
    (folder / "precious.txt").write_text("x")
    result = _run("build", "--openie", str(SAMPLE / "openie.json"), "--out", str(folder))
    assert result.exit_code == 1
    assert "D exists and is not a kglink graph folder; choose another --out or remove it" in result.output
    assert [p.name for p in folder.iterdir()] == ["precious.txt"]


def test_build_into_its_own_corpus_is_refused(tmp_path):
    corpus = tmp_path / "txts"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Ann met Bob in Paris.")
    for out in (corpus, corpus / "graph"):
        result = _run("build", "--corpus", str(corpus), "--out", str(out))
        assert result.exit_code == 2 and "is inside the input" in result.output
    assert [p.name for p in corpus.iterdir()] == ["a.txt"]


def test_export_never_overwrites_the_graphs_own_files(small):
    graph, _ = small
    before = _files(graph)
    result = _run("export", "--graph", str(graph), "--out", str(graph / "graph.json"))
    assert result.exit_code == 2 and "inside the graph folder" in result.output
    assert _files(graph) == before


def test_train_into_a_graph_folder_is_refused_before_training(small, tmp_path):
    graph, _ = small
    before = _files(graph)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("heart attack\tmyocardial infarction\nflu\tinfluenza\n")
    result = _run("train", "--pairs", str(pairs), "--out", str(graph), "--no-progress")
    assert result.exit_code == 1 and "is not a kglink model folder" in result.output
    assert _files(graph) == before


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--threshold", "0.7", "--threshold 0.7 differs from the graph's (0.9)"),
        ("--normalization", "mean", "--normalization mean differs from the graph's (self)"),
        ("--no-passages", None, "--passages False differs from the graph's (True)"),
        ("--model", "no/such-model", "a different model means a rebuild"),
    ],
)
def test_update_refuses_options_that_differ_from_the_graph(small, tmp_path, option, value, says):
    graph, more = small
    copy = shutil.copytree(graph, tmp_path / "g")
    before = _files(copy)
    args = [
        "build",
        "--openie",
        str(more),
        "--out",
        str(copy),
        "--update",
        option,
        *([value] if value else []),
    ]
    result = _run(*args)
    assert result.exit_code == 2 and says in result.output, result.output
    assert _files(copy) == before


def test_update_accepts_the_graphs_own_settings_and_a_relative_model_path(
    small, tmp_path, plain_ckpt, monkeypatch
):
    graph, more = small
    copy = shutil.copytree(graph, tmp_path / "g")
    monkeypatch.chdir(plain_ckpt.parent)
    args = ["build", "--openie", str(more), "--out", str(copy), "--update", "--threshold", "0.9"]
    result = _run(*args, "--model", plain_ckpt.name, "--json", "--no-progress")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["new_passages"] == 3


def test_the_model_path_is_stored_resolved(small, plain_ckpt):
    graph, _ = small
    config = json.loads((graph / "entities" / "config.json").read_text())
    assert config["model"] == str(plain_ckpt.resolve())


def test_an_update_that_adds_nothing_leaves_the_folder_byte_identical(small, tmp_path):
    graph, more = small
    copy = shutil.copytree(graph, tmp_path / "g")
    first = _run("build", "--openie", str(more), "--out", str(copy), "--update", "--no-progress")
    assert first.exit_code == 0, first.output
    after_first = _files(copy)
    again = _run("build", "--openie", str(more), "--out", str(copy), "--update", "--no-progress", "--json")
    assert again.exit_code == 0 and json.loads(again.output)["new_passages"] == 0
    assert _files(copy) == after_first
    from kglink.corpus import load_openie

    malformed = json.loads((copy / "graph.json").read_text())["graph"]["malformed_triples"]
    assert malformed == load_openie(more).malformed_triples  # the 5 built, then the 3 added: counted once
