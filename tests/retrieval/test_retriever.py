"""Graph retrieval on the shipped sample: seeds, PPR scoring variants, dense fallback, eval CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kglink import build_graph
from kglink.cli import main
from kglink.ppr import personalized_pagerank
from kglink.retrieval.evaluate import load_questions
from kglink.retrieval.mentions import Mention, NgramMentions
from kglink.retrieval.retriever import GraphRetriever

SAMPLE = Path(__file__).resolve().parents[2] / "graphs" / "sample"
QUESTION = (
    "Who was the first president of the association which published Journal of Psychotherapy Integration?"
)


@pytest.fixture(scope="module")
def bundle(default_model):
    return build_graph(SAMPLE / "openie.json", SAMPLE / "corpus.json", model=default_model)


def test_seeds_are_linked_non_overlapping_and_weighted(bundle):
    retriever = GraphRetriever(bundle)
    seeds = retriever.seeds(QUESTION)
    nodes = {s.node for s in seeds}
    assert "e:journal of psychotherapy integration" in nodes
    graph = bundle.graph.graph
    for seed in seeds:
        assert seed.score >= retriever.link_threshold
        assert seed.weight == pytest.approx(seed.score / len(graph.nodes[seed.node]["passages"]))
    spans = [s.mention for s in seeds]
    assert not any(a != b and a in b for a in spans for b in spans)  # no span inside another


def test_the_longest_linked_span_wins_over_its_parts(bundle):
    finder = NgramMentions()
    retriever = GraphRetriever(bundle, mention_finder=finder)
    mentions = finder(QUESTION)
    links = bundle.entities.link([m.text for m in mentions], top_k=1, threshold=retriever.link_threshold)
    linked = [m for m, r in zip(mentions, links) if r.linked]
    chosen = {s.mention for s in retriever.seeds(QUESTION)}
    assert "Journal of Psychotherapy Integration" in chosen
    for m in linked:  # a linked span is dropped only for a longer (or equal) linked span it overlaps
        if m.text not in chosen:
            assert any(o.text in chosen and o.overlaps(m) and len(o.text) >= len(m.text) for o in linked)
    shorter = [m for m in linked if m.text in ("Journal", "Psychotherapy", "Integration")]
    assert shorter and not chosen & {m.text for m in shorter}  # parts that link on their own


def test_graph_retrieval_finds_the_journal_passage(bundle):
    hits = GraphRetriever(bundle, dense_first=0).retrieve(QUESTION, top_k=2)
    assert len(hits) == 2 and hits[0].seeds
    assert "Journal of Psychotherapy Integration" in [h.title for h in hits]
    assert hits[0].score >= hits[1].score and {h.via for h in hits} == {"graph"}


def test_dense_first_leads_then_the_walk_in_its_order(bundle):
    walk, moved = GraphRetriever(bundle, dense_first=0), 0
    for question in (QUESTION, "Which passage is about Zimbabwe?", "Judith Viorst wrote which book?"):
        dense = [h.passage_id for h in walk.retrieve_dense(question, 2)]
        by_walk = [h.passage_id for h in walk.retrieve(question, top_k=8)]
        moved += dense[0] != by_walk[0]
        for n in (1, 2):
            hits = GraphRetriever(bundle, dense_first=n).retrieve(question, top_k=5)
            want = list(dict.fromkeys(dense[:n] + by_walk))[:5]
            assert [h.passage_id for h in hits] == want
            assert [h.via for h in hits] == ["dense" if p in dense[:n] else "graph" for p in want]
    assert moved  # on some question the dense index's first is not the walk's


def test_scores_are_the_ppr_mass_of_passage_nodes(bundle):
    retriever = GraphRetriever(bundle, passage_node_weight=0)
    seeds = retriever.seeds(QUESTION)
    restart = np.zeros(len(retriever.matrix.nodes))
    for seed in seeds:
        restart[retriever.matrix.index[seed.node]] += seed.weight
    mass = personalized_pagerank(retriever.matrix, restart, damping=0.5)
    hits = retriever.retrieve(QUESTION, top_k=3)
    for hit in hits:
        assert hit.score == pytest.approx(mass[retriever.matrix.index["p:" + hit.passage_id]])


def test_v1_scoring_sums_entity_mass(bundle):
    retriever = GraphRetriever(bundle, scoring="v1")
    assert retriever.retrieve(QUESTION, top_k=5)
    kinds = {k for *_, k in bundle.graph.graph.edges(data="kind")}
    assert "mention" in kinds and retriever.matrix.adjacency.nnz < GraphRetriever(bundle).matrix.adjacency.nnz


def test_no_linkable_entity_falls_back_to_dense(bundle):
    retriever = GraphRetriever(bundle, extractor=lambda q: [])
    hits = retriever.retrieve(QUESTION, top_k=3)
    assert [h.passage_id for h in hits] == [h.passage_id for h in retriever.retrieve_dense(QUESTION, 3)]
    assert all(h.seeds == () for h in hits)
    strict = GraphRetriever(bundle, extractor=lambda q: [Mention("zzqx vvbn")], link_threshold=0.99)
    assert strict.seeds("anything") == [] and len(strict.retrieve("anything", 2)) == 2


def test_synonym_ablation_drops_synonym_edges(bundle):
    with_syn, without = GraphRetriever(bundle), GraphRetriever(bundle, use_synonyms=False)
    n_syn = bundle.graph.stats()["synonym_edges"]
    assert with_syn.matrix.adjacency.nnz - without.matrix.adjacency.nnz == 2 * n_syn


def test_eval_cli_json(bundle, tmp_path):
    bundle.save(tmp_path / "kg")
    result = CliRunner().invoke(
        main,
        ["eval", "--graph", str(tmp_path / "kg"), "--questions", str(SAMPLE / "questions.json"), "--json"],
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.strip().splitlines()]
    per_question, summary = lines[:-1], lines[-1]
    assert len(per_question) == 8 and {"recall@2", "recall@5"} <= summary.keys()
    assert summary["recall@5"] == pytest.approx(np.mean([q["recall_at_5"] for q in per_question]))
    golds = load_questions(str(SAMPLE / "questions.json"), bundle.graph)
    assert all(len(g) >= 2 for *_, g in golds)  # MuSiQue questions have 2-4 gold passages
    out = CliRunner().invoke(main, ["retrieve", "--graph", str(tmp_path / "kg"), QUESTION, "--top-k", "2"])
    assert out.exit_code == 0 and out.stdout.startswith("seeds:")
