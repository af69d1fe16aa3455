"""Does a trained entity encoder cost general-domain retrieval? MuSiQue, untrained vs trained.

Builds the MuSiQue dev-set graph (HippoRAG's GPT-3.5 OpenIE) once with the embedded
model and once with ``--model`` (each with its own calibrated synonym threshold, which
also gates question-entity links), then reports passage Recall@2 / Recall@5 of graph
retrieval (v2, synonym edges) and of dense retrieval, the number of synonym edges, and
how many questions linked no entity (those fall back to dense retrieval). Prints one
JSON object per model and a markdown table.

    python benchmarks/bench_general.py --model models/bio [--work /tmp/bench-general]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from kglink import GraphBundle, build_graph
from kglink.encoder.model import LateInteractionModel
from kglink.retrieval.evaluate import evaluate, load_questions, summarize
from kglink.retrieval.retriever import GraphRetriever

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hipporag"
OPENIE = DATA / "openie_musique_train_results_ner_gpt-3.5-turbo-1106_1890.json"
CORPUS = DATA / "musique_train_corpus.json"
QUESTIONS = DATA / "musique_train.json"


def recalls(questions, fetch) -> dict[str, float]:
    summary = summarize(list(evaluate(questions, lambda q: [h.passage_id for h in fetch(q, 5)])))
    return {k: round(summary[k], 4) for k in ("recall@2", "recall@5")}


def measure(name: str, model_path: str | None, folder: Path) -> dict:
    model = LateInteractionModel.from_pretrained(model_path, show_progress=False)
    if not (folder / "passages").is_dir():
        build_graph(str(OPENIE), str(CORPUS), model=model).save(folder)
    bundle = GraphBundle.load(folder, model)
    questions = load_questions(str(QUESTIONS), bundle.graph)
    retriever = GraphRetriever(bundle)
    return {
        "model": name,
        "threshold": bundle.entities.threshold,
        "synonym_edges": bundle.graph.stats()["synonym_edges"],
        "unlinked_questions": sum(1 for _, q, _ in questions if not retriever.seeds(q)),
        "graph": recalls(questions, retriever.retrieve),
        "dense": recalls(questions, retriever.retrieve_dense),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="trained checkpoint folder (kglink train --out)")
    parser.add_argument("--work", type=Path, help="keep the built graphs here (default: a temp folder)")
    args = parser.parse_args()
    if not QUESTIONS.is_file():
        raise SystemExit(f"{QUESTIONS} not found; this benchmark needs ../shared/data")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        table = [
            measure("untrained (embedded default)", None, work / "untrained"),
            measure(args.model, args.model, work / "trained"),
        ]
    for row in table:
        print(json.dumps(row), flush=True)
    print(
        "\n| encoder (threshold) | graph R@2 | graph R@5 | dense R@2 | dense R@5 | synonym edges | unlinked |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in table:
        g, d = r["graph"], r["dense"]
        print(
            f"| {r['model']} ({r['threshold']:.2f}) | {g['recall@2']:.4f} | {g['recall@5']:.4f} "
            f"| {d['recall@2']:.4f} | {d['recall@5']:.4f} "
            f"| {r['synonym_edges']} | {r['unlinked_questions']} |"
        )


if __name__ == "__main__":
    main()
