"""What one link costs after a graph is built: a whole `kglink link` process, and links after load.

Prints one JSON object, every figure measured in this run (medians of ``--runs``):

* ``model_only_s``: a process that only imports kglink and loads the model (the floor);
* ``link_process_s``: ``kglink link --graph G MENTION`` as a whole process, and its excess
  over the floor;
* ``load_s``: ``GraphBundle.load`` in-process; ``first_link_ms``: the first link after it
  (where a process used to train the faiss IVF index); ``link_ms_p50``/``p95``: single
  mentions after that, over ``--mentions`` n-grams of the MuSiQue questions.

Usage: ``python benchmarks/bench_link.py --graph graphs/musique [--runs 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hipporag"
MODEL_ONLY = "from kglink import LateInteractionModel as M; M.from_pretrained(show_progress=False)"


def process_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def mentions(limit: int) -> list[str]:
    from kglink.retrieval.mentions import NgramMentions

    questions = json.loads((DATA / "musique_train.json").read_text()) if DATA.is_dir() else []
    finder = NgramMentions()
    spans = [m.text for q in questions for m in finder(q["question"])]
    return (spans or ["Zimbabwe", "American Psychological Association", "Judith Viorst"] * 10)[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", type=Path, default=Path("graphs/musique"))
    parser.add_argument("--mention", default="Zimbabwe")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mentions", type=int, default=200)
    args = parser.parse_args()
    kglink = str(Path(sys.executable).with_name("kglink"))
    floor = process_seconds([sys.executable, "-c", MODEL_ONLY], args.runs)
    link = process_seconds([kglink, "link", "--graph", str(args.graph), args.mention], args.runs)

    from kglink import GraphBundle

    start = time.perf_counter()
    bundle = GraphBundle.load(args.graph, show_progress=False)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    bundle.entities.link([args.mention], top_k=5)
    first_ms = 1000 * (time.perf_counter() - start)
    times = []
    for mention in mentions(args.mentions):
        start = time.perf_counter()
        bundle.entities.link([mention], top_k=5)
        times.append(1000 * (time.perf_counter() - start))
    times.sort()
    report = {
        "graph": str(args.graph),
        "names": len(bundle.entities),
        "threads": __import__("torch").get_num_threads(),
        "model_only_s": round(floor, 3),
        "link_process_s": round(link, 3),
        "link_process_excess_s": round(link - floor, 3),
        "load_s": round(load_s, 3),
        "first_link_ms": round(first_ms, 2),
        "link_ms_p50": round(times[len(times) // 2], 2),
        "link_ms_p95": round(times[int(0.95 * (len(times) - 1))], 2),
        "links_timed": len(times),
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
