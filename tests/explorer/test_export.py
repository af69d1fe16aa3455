"""`kglink export --format html|json`: the bounded subgraph, and the HTML opened offline by Chromium."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kglink.cli import main
from kglink.graph import KnowledgeGraph
from kglink.graph.subgraph import neighbourhood


def _export(*args: str) -> None:
    result = CliRunner().invoke(main, ["export", *args])
    assert result.exit_code == 0, result.output


def test_json_export_is_the_neighbourhood_as_node_link(explorer_graph, tmp_path):
    out = tmp_path / "sub.json"
    _export(
        "--graph",
        str(explorer_graph),
        "--format",
        "json",
        "--node",
        "Grand Ole Opry",
        "--hops",
        "2",
        "--out",
        str(out),
    )
    data = json.loads(out.read_text())
    expected = neighbourhood(KnowledgeGraph.load(explorer_graph), "Grand Ole Opry", 2, 60)
    assert [n["id"] for n in data["nodes"]] == list(expected.nodes)
    assert data["nodes"][0]["role"] == "center"
    assert {e["kind"] for e in data["edges"]} >= {"mention", "synonym"}


def test_question_export_holds_seeds_and_passages(explorer_graph, tmp_path):
    out = tmp_path / "q.json"
    _export(
        "--graph",
        str(explorer_graph),
        "--format",
        "json",
        "--question",
        "Where is the Grand Ole Opry held?",
        "--out",
        str(out),
    )
    roles = [n["role"] for n in json.loads(out.read_text())["nodes"]]
    assert roles.count("retrieved") == 5 and "seed" in roles


@pytest.mark.parametrize("extra", [[], ["--node", "x", "--question", "y"]])
def test_html_needs_exactly_one_of_node_or_question(explorer_graph, tmp_path, extra):
    result = CliRunner().invoke(
        main,
        ["export", "--graph", str(explorer_graph), "--format", "html", "--out", str(tmp_path / "a"), *extra],
    )
    assert result.exit_code == 2 and "--node NAME or --question" in result.output


def test_unknown_node_is_a_clear_error(explorer_graph, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "export",
            "--graph",
            str(explorer_graph),
            "--format",
            "json",
            "--node",
            "No Such Thing",
            "--out",
            str(tmp_path / "a.json"),
        ],
    )
    assert result.exit_code == 1 and "no node 'No Such Thing'" in result.output


def test_html_export_opens_offline_with_the_expected_node_count(explorer_graph, tmp_path, browser):
    out, ref = tmp_path / "opry.html", tmp_path / "opry.json"
    common = ["--graph", str(explorer_graph), "--node", "Grand Ole Opry", "--hops", "2", "--max-nodes", "12"]
    _export(*common, "--format", "html", "--out", str(out))
    _export(*common, "--format", "json", "--out", str(ref))
    text = out.read_text()
    assert "<script src" not in text and "http://" not in text.split("<script>", 1)[0]
    expected = len(json.loads(ref.read_text())["nodes"])
    assert expected == 12  # the cap cut it
    browser.get(out.as_uri())
    from explorer_helpers import wait_for

    count = wait_for(
        browser, lambda d: d.execute_script("return window.kglinkCy && window.kglinkCy.nodes().length")
    )
    assert count == expected
    assert browser.find_element("id", "count").text.startswith(f"{expected} nodes")
    browser.save_screenshot(str(tmp_path / "export.png"))
