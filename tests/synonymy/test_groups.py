"""Gold synonym sets, the synonymy evaluation (by hand), TF-IDF, aliases and the CLI."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from click.testing import CliRunner

from kglink.cli import main
from kglink.errors import InputError
from kglink.synonymy.evaluate import (
    MaxSimScorer,
    TfidfScorer,
    linking_report,
    pairwise_report,
    pick_threshold,
)
from kglink.synonymy.groups import load_pairs, load_pubtator, load_synsets, merge_groups, name_concepts
from kglink.synonymy.tfidf import TfidfTrigrams, trigrams
from tests.conftest import shared_path

PUBTATOR = """\
1|t|Heart attack and flu.
1|a|A myocardial infarction (MI) is a heart attack.
1\t0\t12\tHeart attack\tDisease\tD009203
1\t30\t51\tmyocardial infarction\tDisease\tD009203
1\t53\t55\tMI\tDisease\tD009203
1\t17\t20\tflu\tDisease\tD007251
1\t60\t70\tcolds and flu\tCompositeMention\tD003139|D007251
1\t70\t72\tXY\tDisease\t-1
1\tCID\tD1\tD009203

2|t|Influenza.
2\t0\t9\tInfluenza\tDisease\tD007251
2\t0\t12\tHeart Attack\tDisease\tD009203
"""


@pytest.fixture
def pubtator(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(PUBTATOR)
    return path


def test_pubtator_groups_skip_composite_and_unlinked_ids(pubtator):
    groups = load_pubtator(pubtator)
    assert groups == {
        "D009203": Counter({"heart attack": 2, "myocardial infarction": 1, "mi": 1}),
        "D007251": Counter({"flu": 1, "influenza": 1}),
    }
    assert load_synsets(pubtator) == groups


def test_pairs_join_into_groups_and_formats_are_detected(tmp_path):
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("Heart attack\tMI\nMI\tmyocardial infarction\nflu\tinfluenza\n")
    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_text('["Heart attack", "MI"]\n{"a": "flu", "b": "grippe"}\n')
    assert sorted(sorted(g) for g in load_pairs(tsv).values()) == [
        ["flu", "influenza"],
        ["heart attack", "mi", "myocardial infarction"],
    ]
    assert sorted(sorted(g) for g in load_synsets(jsonl).values()) == [
        ["flu", "grippe"],
        ["heart attack", "mi"],
    ]
    groups = tmp_path / "groups.jsonl"
    groups.write_text('{"id": "c1", "names": ["A-B", "ab"]}\n')
    assert load_synsets(groups) == {"c1": Counter({"a b": 1, "ab": 1})}
    bad = tmp_path / "bad.tsv"
    bad.write_text("only one column\n")
    with pytest.raises(InputError, match="not PubTator"):
        load_synsets(bad)


def test_merge_joins_groups_sharing_an_id():
    merged = merge_groups(
        {"D1": Counter({"a": 1})}, {"D1": Counter({"a": 2, "b": 1}), "D2": Counter({"c": 1})}
    )
    assert merged == {"D1": Counter({"a": 3, "b": 1}), "D2": Counter({"c": 1})}
    assert name_concepts(merged)["a"] == frozenset({"D1"})


class FixedScorer:
    """Hand-set scores, to check the report arithmetic against numbers worked out below."""

    def __init__(self, pairs, ranks):
        self._pairs, self._ranks = pairs, ranks

    def pairs(self, names, k):
        return self._pairs

    def rank(self, queries, nodes, k):
        return [self._ranks[q] for q in queries]


def test_pairwise_report_by_hand():
    groups = {"c1": Counter({"a": 1, "b": 1, "c": 1}), "c2": Counter({"d": 1, "e": 1})}  # 3 + 1 gold pairs
    scored = {("a", "b"): 0.9, ("a", "d"): 0.85, ("d", "e"): 0.8, ("b", "c"): 0.5}
    report = pairwise_report(FixedScorer(scored, {}), groups, default=0.8)
    assert (report.names, report.gold_pairs) == (5, 4)
    # at 0.8: predicted ab, ad, de -> 2 right of 3; recall 2/4
    assert report.at_default.precision == pytest.approx(2 / 3)
    assert report.at_default.recall == pytest.approx(0.5)
    assert report.at_default.f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    # at 0.5: 3 right of 4, recall 3/4 -> F1 0.75, the best; the highest threshold reaching it is 0.5
    assert (report.best.threshold, report.best.f1) == (0.5, pytest.approx(0.75))
    assert pick_threshold(report) == 0.5
    assert pick_threshold(report, target_precision=0.99) == 0.86  # only (a, b) kept: precision 1


def test_linking_report_by_hand():
    groups = {
        "c1": Counter({"heart attack": 3, "mi": 1, "infarct": 1}),
        "c2": Counter({"flu": 2, "grippe": 1}),
    }
    ranks = {  # canonical nodes: "heart attack" (most frequent) and "flu"
        "mi": [("heart attack", 0.9), ("flu", 0.2)],
        "infarct": [("flu", 0.6), ("heart attack", 0.5)],
        "grippe": [("flu", 0.4), ("heart attack", 0.1)],
    }
    report = linking_report(FixedScorer({}, ranks), groups)
    assert (report.queries, report.nodes) == (3, 2)
    assert report.acc1 == pytest.approx(2 / 3) and report.acc5 == 1.0
    at = {p.threshold: p for p in report.tradeoff}
    assert (at[0.5].coverage, at[0.5].precision) == (pytest.approx(2 / 3), 0.5)  # mi right, infarct wrong
    assert (at[0.7].coverage, at[0.7].precision) == (pytest.approx(1 / 3), 1.0)


def test_tfidf_matches_a_hand_computation():
    assert trigrams("ab") == Counter({" ab": 1, "ab ": 1})
    vec = TfidfTrigrams().fit(["ab", "abc"])
    # idf(" ab") = ln(3/3) + 1 = 1 (in both); idf("ab ") = idf("abc") = idf("bc ") = ln(3/2) + 1
    rare = np.log(1.5) + 1
    want = 1 / (np.sqrt(1 + rare**2) * np.sqrt(1 + 2 * rare**2))  # only " ab" is shared
    assert vec.similarity(["ab"], ["abc"])[0, 0] == pytest.approx(want)


def test_scorers_on_real_names(default_model):
    groups = {
        "apa": Counter({"american psychological association": 2, "apa": 1}),
        "mi": Counter({"myocardial infarction": 1, "heart attack": 1}),
        "flu": Counter({"influenza": 2, "flu": 1}),
    }
    for scorer in (MaxSimScorer(default_model), TfidfScorer()):
        report = linking_report(scorer, groups)
        assert report.queries == 3 and 0.0 <= report.acc1 <= report.acc5 <= 1.0
        pairs = scorer.pairs(sorted(name_concepts(groups)), 100)
        assert len(pairs) == 15, type(scorer)  # 6 names, every pair scored once
        assert all(a < b for a, b in pairs)


def test_eval_synonyms_cli(pubtator):
    result = CliRunner().invoke(main, ["eval-synonyms", "--pubtator", str(pubtator), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["scorer"] for line in lines] == ["embedded default", "char-trigram TF-IDF"]
    assert (
        lines[0]["pairwise"]["gold_pairs"] == 4
    )  # heart attack / mi / myocardial infarction, flu / influenza
    assert lines[0]["linking"]["queries"] == 3


def test_train_cli_rejects_missing_sources(tmp_path):
    result = CliRunner().invoke(main, ["train", "--out", str(tmp_path / "m")])
    assert result.exit_code == 1 and "--pubtator" in result.output


@pytest.mark.slow
def test_ncbi_test_split_loads():
    groups = load_pubtator(shared_path("data", "ncbi_disease", "NCBItestset_corpus.txt"))
    assert len(groups) > 150


def test_graph_alias_groups_from_a_saved_graph(tmp_path):
    from pathlib import Path

    from kglink.corpus import load_openie
    from kglink.graph import KnowledgeGraph
    from kglink.synonymy.aliases import graph_alias_groups

    sample = Path(__file__).resolve().parents[2] / "graphs" / "sample"
    graph = KnowledgeGraph.from_openie(load_openie(sample / "openie.json", sample / "corpus.json"))
    graph.save(tmp_path)
    groups = graph_alias_groups(tmp_path)
    names = set(graph.entity_names())
    assert {n for g in groups.values() for n in g} >= names  # every node is in the pool
    apa = groups["alias:american psychological association"]
    assert set(apa) == {"american psychological association", "apa"}
    for concept, members in groups.items():
        assert concept.startswith(("alias:", "node:"))
        assert len(members) > 1 or concept.startswith("node:")
