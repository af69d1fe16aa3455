"""Synonymy before and after training: the issue's table, in one command.

For each test split (NCBI-disease, BC5CDR) and for its concepts unseen in the
training splits, scores the untrained embedded model, char-trigram TF-IDF and a
trained model (``--model``) on both tasks: pairwise F1 (best, and at the model's
calibrated threshold) and linking acc@1 / acc@5. Prints one JSON object per row and
a markdown table.

    python benchmarks/bench_synonyms.py --model models/bio
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from kglink import LateInteractionModel
from kglink.synonymy.evaluate import MaxSimScorer, TfidfScorer, linking_report, pairwise_report
from kglink.synonymy.groups import load_pubtator, merge_groups

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SPLITS = {
    "NCBI-disease": ("ncbi_disease/NCBItrainset_corpus.txt", "ncbi_disease/NCBItestset_corpus.txt"),
    "BC5CDR": ("bc5cdr/CDR_TrainingSet.PubTator.txt", "bc5cdr/CDR_TestSet.PubTator.txt"),
}


def rows(model_path: str | None):
    scorers = [
        ("untrained MaxSim", MaxSimScorer(LateInteractionModel.from_pretrained(show_progress=False)), 0.8)
    ]
    scorers.append(("char-trigram TF-IDF", TfidfScorer(), None))
    if model_path:
        trained = LateInteractionModel.from_pretrained(model_path, show_progress=False)
        scorers.append(("trained MaxSim", MaxSimScorer(trained), trained.synonym_threshold or 0.8))
    train = merge_groups(*(load_pubtator(DATA / tr) for tr, _ in SPLITS.values()))
    for dataset, (_, test_file) in SPLITS.items():
        test = load_pubtator(DATA / test_file)
        subsets = {"all": test, "unseen": {c: n for c, n in test.items() if c not in train}}
        for subset, groups in subsets.items():
            for name, scorer, default in scorers:
                start = time.perf_counter()
                pairwise, linking = pairwise_report(scorer, groups, default), linking_report(scorer, groups)
                yield {
                    "dataset": dataset,
                    "concepts": subset,
                    "scorer": name,
                    "names": pairwise.names,
                    "gold_pairs": pairwise.gold_pairs,
                    "best_f1": round(pairwise.best.f1, 4),
                    "best_threshold": pairwise.best.threshold,
                    "threshold": default,
                    "f1_at_threshold": round(pairwise.at_default.f1, 4) if pairwise.at_default else None,
                    "acc1": round(linking.acc1, 4),
                    "acc5": round(linking.acc5, 4),
                    "seconds": round(time.perf_counter() - start, 1),
                }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="trained checkpoint folder (kglink train --out)")
    args = parser.parse_args()
    table = []
    for row in rows(args.model):
        print(json.dumps(row), flush=True)
        table.append(row)
    print("\n| dataset | concepts | scorer | best F1 (thr) | F1 at stored thr | acc@1 | acc@5 |")
    print("|---|---|---|---|---|---|---|")
    for r in table:
        at = f"{r['f1_at_threshold']:.3f} @ {r['threshold']:.2f}" if r["threshold"] is not None else "–"
        print(
            f"| {r['dataset']} | {r['concepts']} | {r['scorer']} "
            f"| {r['best_f1']:.3f} ({r['best_threshold']:.2f}) | {at} | {r['acc1']:.3f} | {r['acc5']:.3f} |"
        )


if __name__ == "__main__":
    main()
