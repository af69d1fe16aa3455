"""Passage retrieval on MuSiQue-format questions: BM25, dense and every graph variant; prints JSON.

One command gives the whole table, in one run, with the graph's own model:

* BM25 (bm25s, stemmed, English stopwords) and dense late-interaction retrieval;
* the graph with n-gram seeds, fact seeds (HippoRAG 2; when the graph was built with
  ``--facts``) and both, each with the dense index's best passage first (the default)
  and by the walk alone, each with and without its synonym edges;
* HippoRAG v1 (summed entity mass) scoring, and v2 with HippoRAG 2's dense blend (its
  published weight, 0.05) in the restart vector;
* PPR latency, kglink vs python-igraph prpack (``bench_ppr.py``).

Recall@k is the fraction of gold passages (documents, on a chunked graph) in the top k,
averaged over questions; latencies are per question, end to end (question encoding and
linking included).

Usage: ``python benchmarks/bench_retrieval.py [--graph graphs/musique] [--questions Q] [--plot R.png]``
(the MuSiQue graph is built from HippoRAG's OpenIE if absent; ``--plot`` also draws
Recall@2/@5 and latency per variant, ``kglink[plot]``).
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
from kglink.retrieval.evaluate import evaluate, load_questions, passage_keys, summarize  # noqa: E402
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


def row(name: str, questions, fetch, keys) -> dict:
    ranked = lambda q: [h.passage_id for h in fetch(q, 20)]  # noqa: E731  (5 documents after chunks merge)
    summary = summarize(list(evaluate(questions, ranked, keys)))
    out = {"variant": name, **{k: round(v, 4) for k, v in summary.items() if k != "questions"}}
    print(json.dumps(out), file=sys.stderr, flush=True)
    return out


def plot(report: dict, path: str):
    """Recall@2/@5 and median / p95 latency per variant, one row of points each."""
    from kglink.plots import table_figure

    panels = {
        "passage recall": ["recall@2", "recall@5"],
        "ms per question": ["latency_ms_median", "latency_ms_p95"],
    }
    title = f"{report['questions']} questions, {report['model']}, threshold {report['synonym_threshold']}"
    return table_figure(report["table"], "variant", panels, path, title=title)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", type=Path, default=Path("graphs/musique"))
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--plot", default=None, help="Also draw the table to this PNG (kglink[plot]).")
    args = parser.parse_args()
    if args.plot:
        from kglink.plots import require_matplotlib

        require_matplotlib()
    if not args.questions.is_file():
        sys.exit(f"{args.questions} not found; this benchmark needs ../shared/data")
    build_if_missing(args.graph)
    bundle = GraphBundle.load(args.graph, show_progress=False)
    questions, keys = load_questions(str(args.questions), bundle.graph), passage_keys(bundle.graph)
    base = GraphRetriever(bundle)
    rows = [
        row("bm25", questions, base.retrieve_bm25, keys),
        row("dense", questions, base.retrieve_dense, keys),
    ]
    sources = ["ngrams", "facts", "both"] if bundle.facts is not None else ["ngrams"]
    for seeds in sources:
        for dense_first in (1, 0):
            for synonyms in (True, False):
                options = {"seeds": seeds, "use_synonyms": synonyms, "dense_first": dense_first}
                retriever = GraphRetriever(bundle, **options)
                name = f"graph v2, {seeds} seeds, dense first {dense_first}, "
                name += "with synonyms" if synonyms else "no synonyms"
                rows.append(row(name, questions, retriever.retrieve, keys))
    v1 = GraphRetriever(bundle, scoring="v1")
    rows.append(row("graph v1 (entity mass), ngrams seeds, dense first 1", questions, v1.retrieve, keys))
    blend = GraphRetriever(bundle, passage_node_weight=0.05, dense_first=0)  # HippoRAG 2's published weight
    rows.append(row("graph v2, ngrams seeds, dense blend 0.05 (HippoRAG 2)", questions, blend.retrieve, keys))
    report = {
        "questions": len(questions),
        "model": bundle.entities.model.name,
        "synonym_threshold": bundle.entities.threshold,
        "table": rows,
        "ppr": ppr_latency(args.graph, 100, 0),
    }
    print(json.dumps(report, indent=1))
    if args.plot:
        plot(report, args.plot)


if __name__ == "__main__":
    main()
