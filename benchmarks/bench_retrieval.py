"""Passage retrieval on the MuSiQue dev set: dense vs graph variants, and PPR latency; prints JSON.

One command gives the whole table (same encoder everywhere, the graph's own model):

* dense late-interaction retrieval only;
* the graph without synonym edges;
* the graph with synonym edges at thresholds 0.7 / 0.8 / 0.9 (edges recomputed from the
  same entity index; the link threshold stays the graph's);
* HippoRAG v1 (summed entity mass) and v2 (passage-node mass) scoring, and v2 with
  HippoRAG 2's dense blend in the restart vector;
* PPR latency, kglink vs python-igraph prpack (``bench_ppr.py``).

Recall@k is the fraction of gold passages in the top k, averaged over questions;
latencies are per question, end to end (question encoding and n-gram linking included).

Usage: ``python benchmarks/bench_retrieval.py [--graph graphs/musique]`` (built if absent).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ppr import run as ppr_latency  # noqa: E402

from kglink import GraphBundle  # noqa: E402
from kglink.retrieval.evaluate import evaluate, load_questions, summarize  # noqa: E402
from kglink.retrieval.retriever import GraphRetriever  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hipporag"
QUESTIONS = DATA / "musique_train.json"


def build_if_missing(folder: Path) -> None:
    if (folder / "passages").is_dir():
        return
    subprocess.run(
        [
            sys.executable,
            "-m",
            "kglink",
            "build",
            "--openie",
            str(DATA / "openie_musique_train_results_ner_gpt-3.5-turbo-1106_1890.json"),
            "--corpus",
            str(DATA / "musique_train_corpus.json"),
            "--out",
            str(folder),
            "--no-progress",
        ],
        check=True,
    )


def row(name: str, questions, fetch) -> dict:
    summary = summarize(list(evaluate(questions, lambda q: [h.passage_id for h in fetch(q, 5)])))
    out = {"variant": name, **{k: round(v, 4) for k, v in summary.items() if k != "questions"}}
    print(json.dumps(out), file=sys.stderr, flush=True)
    return out


def with_synonyms_at(bundle: GraphBundle, threshold: float) -> None:
    """Replace the graph's synonym edges by those at ``threshold``."""
    bundle.graph.remove_synonyms()
    bundle.graph.add_synonyms(bundle.entities.synonym_pairs(threshold))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", type=Path, default=Path("graphs/musique"))
    args = parser.parse_args()
    if not QUESTIONS.is_file():
        sys.exit(f"{QUESTIONS} not found; this benchmark needs ../shared/data")
    build_if_missing(args.graph)
    bundle = GraphBundle.load(args.graph)
    bundle.entities.model.show_progress = False
    questions = load_questions(str(QUESTIONS), bundle.graph)
    base = GraphRetriever(bundle)
    rows = [
        row("dense only", questions, base.retrieve_dense),
        row("graph v2, no synonym edges", questions, GraphRetriever(bundle, use_synonyms=False).retrieve),
    ]
    for threshold in (0.7, 0.8, 0.9):
        with_synonyms_at(bundle, threshold)
        rows.append(row(f"graph v2, synonyms >= {threshold}", questions, GraphRetriever(bundle).retrieve))
    with_synonyms_at(bundle, bundle.entities.threshold)
    v1 = GraphRetriever(bundle, scoring="v1")
    rows.append(row("graph v1 (entity mass), synonyms", questions, v1.retrieve))
    blend = GraphRetriever(bundle, passage_node_weight=0.5)
    rows.append(row("graph v2, synonyms, dense blend 0.5 (HippoRAG 2)", questions, blend.retrieve))
    report = {
        "questions": len(questions),
        "model": bundle.entities.model.name,
        "synonym_threshold": bundle.entities.threshold,
        "table": rows,
        "ppr": ppr_latency(args.graph, 100, 0),
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
