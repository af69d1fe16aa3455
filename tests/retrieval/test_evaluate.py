"""Recall on graphs built with chunking: a gold paragraph is its document, found through its chunks."""

from __future__ import annotations

import json

from click.testing import CliRunner

from kglink.ie import Extraction

LONG = (
    "Ann Lee was born in Paris. She studied physics in Lyon. Later she moved to Berlin. "
    "There she founded a small lab. The lab studied cold atoms. It closed in 1990."
)
SHORT = "Bob Ray is a painter from Rome."


class Capitalised:
    """A stand-in extraction backend: capitalised words are entities, no triples."""

    name = "capitalised"

    def extract(self, passages):
        return [
            Extraction(tuple(w.strip(".") for w in p.text.split() if w[0].isupper()), ()) for p in passages
        ]


def _graph(tmp_path, default_model):
    from kglink.bundle import build_graph_from_corpus

    corpus = tmp_path / "corpus.json"
    corpus.write_text(json.dumps([{"title": "Ann Lee", "text": LONG}, {"title": "Bob Ray", "text": SHORT}]))
    bundle = build_graph_from_corpus(corpus, Capitalised(), chunk_tokens=12, model=default_model)
    questions = tmp_path / "q.json"
    paragraphs = [{"title": "Ann Lee", "paragraph_text": LONG, "is_supporting": True}]
    paragraphs.append({"title": "Bob Ray", "paragraph_text": SHORT, "is_supporting": False})
    questions.write_text(
        json.dumps([{"id": "q1", "question": "Where did Ann Lee found a lab?", "paragraphs": paragraphs}])
    )
    return bundle, questions


def test_a_chunked_gold_paragraph_is_its_document(tmp_path, default_model):
    from kglink.retrieval.evaluate import evaluate, load_questions, passage_keys

    bundle, questions = _graph(tmp_path, default_model)
    chunks = [
        d
        for _, d in bundle.graph.graph.nodes(data=True)
        if d["kind"] == "passage" and d["title"] == "Ann Lee"
    ]
    assert len(chunks) >= 3 and len({c["source"] for c in chunks}) == 1
    [(qid, _, gold)] = load_questions(str(questions), bundle.graph)
    assert gold == (f"doc:{chunks[0]['source']}",)
    short = next(d["id"] for _, d in bundle.graph.graph.nodes(data=True) if d.get("title") == "Bob Ray")
    keys = passage_keys(bundle.graph)
    # the short passage first, then two chunks of the gold document: retrieved at rank 2
    ranked = [short, chunks[2]["id"], chunks[0]["id"]]
    [result] = evaluate([(qid, "?", gold)], lambda q: ranked, keys)
    assert result.retrieved == (keys[short], gold[0]) and result.recall_at_2 == 1.0
    [unmapped] = evaluate([(qid, "?", gold)], lambda q: ranked)  # without keys chunks are not the document
    assert unmapped.recall_at_5 == 0.0


def test_kglink_eval_runs_on_a_chunked_graph(tmp_path, default_model):
    from kglink.cli import main

    bundle, questions = _graph(tmp_path, default_model)
    bundle.save(tmp_path / "g")
    for mode in ("graph", "dense"):
        result = CliRunner().invoke(
            main,
            ["eval", "--graph", str(tmp_path / "g"), "--questions", str(questions), "--mode", mode, "--json"],
        )
        assert result.exit_code == 0, result.output
        summary = json.loads(result.output.splitlines()[-1])
        assert summary["questions"] == 1 and summary["recall@5"] == 1.0  # 2 documents: both within 5
