"""BM25 against a plain-loop Lucene BM25 over the same terms, and as a retrieval mode."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest
from click.testing import CliRunner

pytest.importorskip("bm25s", reason="the BM25 baseline needs kglink[bm25]")

from kglink.retrieval.bm25 import BM25Index  # noqa: E402

DOCS = [
    ("a", "Paris\nParis is the capital and largest city of France."),
    ("b", "Lyon\nLyon is a city in France, on the Rhone."),
    ("c", "Berlin\nBerlin is the capital of Germany; Germany borders France."),
    ("d", "Cats\nCats sleep for most of the day."),
]


def _reference(index: BM25Index, question: str, k1: float = 1.5, b: float = 0.75) -> dict[str, float]:
    """Lucene's BM25, term by term: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), and no constant
    (k1 + 1) in the numerator (Lucene 8 dropped it; it scales every score alike)."""
    docs = {pid: Counter(index.tokens(text)) for pid, text in DOCS}
    avgdl = sum(sum(c.values()) for c in docs.values()) / len(docs)
    out = {}
    for pid, tf in docs.items():
        dl, score = sum(tf.values()), 0.0
        for term in set(index.tokens(question)):
            df = sum(term in c for c in docs.values())
            if df and tf[term]:
                idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
                score += idf * tf[term] / (tf[term] + k1 * (1 - b + b * dl / avgdl))
        out[pid] = score
    return out


@pytest.mark.parametrize("question", ["capital of France", "Which city lies on the Rhone?", "sleeping cats"])
def test_scores_equal_a_plain_loop_bm25(question):
    index = BM25Index(DOCS)
    want = _reference(index, question)
    got = dict(index.search(question, top_k=4))
    assert got == pytest.approx(want, abs=1e-5)
    assert [pid for pid, _ in index.search(question, top_k=4)] == sorted(want, key=lambda p: (-want[p], p))


def test_stemming_and_stopwords():
    index = BM25Index(DOCS)
    assert index.tokens("The cats sleeping in Paris") == ["cat", "sleep", "pari"]
    assert index.search("sleeping", top_k=1)[0][0] == "d"  # "sleeping" finds "sleep"


def test_bm25_is_a_retrieval_mode(tmp_path):
    from kglink.cli import main

    sample = tmp_path / "openie.json"
    sample.write_text(
        '{"docs": [{"idx": 0, "title": "Lyon", "passage": "Lyon\\nLyon is on the Rhone.", '
        '"extracted_entities": ["Lyon", "Rhone"], "extracted_triples": [["Lyon", "is on", "Rhone"]]}, '
        '{"idx": 1, "title": "Cats", "passage": "Cats\\nCats sleep.", "extracted_entities": ["Cats"], '
        '"extracted_triples": []}]}'
    )
    runner = CliRunner()
    built = runner.invoke(
        main, ["build", "--openie", str(sample), "--out", str(tmp_path / "g"), "--no-progress"]
    )
    assert built.exit_code == 0, built.output
    args = ["retrieve", "--graph", str(tmp_path / "g"), "--mode", "bm25", "Is Lyon on a river?", "--json"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    hits = [json.loads(line) for line in result.output.splitlines()]
    assert [h["title"] for h in hits] == ["Lyon", "Cats"]
    assert hits[0]["score"] > 0 and hits[1]["score"] == 0 and hits[0]["seeds"] == []
