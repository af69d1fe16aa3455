"""Benchmark the MuSiQue graph build and the pieces under it; prints one JSON object.

Measured in one run, on this machine, so the ratios compare like with like:

* the whole ``kglink build`` (a subprocess): wall seconds and peak RSS;
* names encoded per second (the embedded model, query and document sides);
* MaxSim GFLOP/s (exhaustive, large batch) next to the plain matmul GFLOP/s of the
  same shapes in float32 and bfloat16 (the machine's ceilings);
* all-pairs synonymy seconds on the default path and, with ``--exact``, exact all-pairs
  scoring and the recall of the default path against it;
* link latency per mention (one mention per call): median and p95.

Usage: ``python benchmarks/bench_build.py [--exact] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hipporag"
OPENIE = DATA / "openie_musique_train_results_ner_gpt-3.5-turbo-1106_1890.json"
CORPUS = DATA / "musique_train_corpus.json"


def timed(fn, repeat: int = 3) -> float:
    """Median seconds of ``repeat`` calls after one warm-up."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_build(out: Path) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "kglink",
        "build",
        "--openie",
        str(OPENIE),
        "--corpus",
        str(CORPUS),
        "--out",
        str(out),
        "--no-progress",
        "--json",
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    rss_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6
    return {"build_wall_s": round(wall, 1), "build_peak_rss_gb": round(rss_gb, 2), **json.loads(proc.stdout)}


def matmul_ceiling(rows: int, cols: int, dim: int, dtype: torch.dtype) -> float:
    a, b = torch.randn(rows, dim).to(dtype), torch.randn(cols, dim).to(dtype)
    return 2 * rows * cols * dim / timed(lambda: a @ b.T) / 1e9


def maxsim_rate(entities, n_queries: int) -> dict:
    from kglink.scores import compute_dtype, maxsim_topk, pack

    docs = (entities.docs._tokens, entities.docs._offsets)
    queries = pack([entities.queries.embedding(i) for i in entities.docs.ids[:n_queries]])
    seconds = timed(lambda: maxsim_topk(queries, docs, 100, device="cpu"), repeat=1)
    dim = docs[0].shape[1]
    gflops = 2 * len(queries[0]) * len(docs[0]) * dim / seconds / 1e9
    ceilings = {
        str(dt).removeprefix("torch."): matmul_ceiling(2048, 16384, dim, dt)
        for dt in (torch.float32, torch.bfloat16)
    }
    used = str(compute_dtype(torch.device("cpu"))).removeprefix("torch.")
    return {
        "maxsim_dtype": used,
        "maxsim_gflops": round(gflops, 1),
        "maxsim_seconds": round(seconds, 2),
        **{f"matmul_{k}_gflops": round(v, 1) for k, v in ceilings.items()},
        "maxsim_vs_same_dtype_ceiling": round(gflops / ceilings[used], 3),
        "maxsim_vs_bf16_ceiling": round(gflops / ceilings["bfloat16"], 3),
    }


def encode_rate(model, names: list[str]) -> float:
    return len(names) / timed(lambda: model.encode_both(names), repeat=1)


def link_latency(entities, mentions: list[str]) -> dict:
    entities.link(mentions[:5])  # warm-up: builds the faiss index
    times = []
    for mention in mentions:
        start = time.perf_counter()
        entities.link([mention], top_k=5)
        times.append(1000 * (time.perf_counter() - start))
    return {
        "link_ms_median": round(statistics.median(times), 2),
        "link_ms_p95": round(float(np.percentile(times, 95)), 2),
        "link_mentions": len(mentions),
    }


def synonym_recall(entities, default_pairs) -> dict:
    saved = entities.exhaustive_below
    entities.exhaustive_below = len(entities) + 1
    start = time.perf_counter()
    exact = {(p.source, p.target) for p in entities.synonym_pairs()}
    seconds = time.perf_counter() - start
    entities.exhaustive_below = saved
    got = {(p.source, p.target) for p in default_pairs}
    return {
        "exact_synonyms_s": round(seconds, 1),
        "exact_pairs": len(exact),
        "default_pairs_recall": round(len(got & exact) / max(len(exact), 1), 4),
        "default_pairs_not_in_exact": len(got - exact),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="Graph folder (default: a temp folder).")
    parser.add_argument("--exact", action="store_true", help="Also score all pairs exactly (slow).")
    args = parser.parse_args()
    if not OPENIE.is_file():
        sys.exit(f"MuSiQue OpenIE not found at {OPENIE}; this benchmark needs ../shared/data")
    from kglink import GraphBundle

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "musique"
        report = {
            "machine": f"{os.cpu_count()} CPU cores",
            "torch_threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            **run_build(out),
        }
        bundle = GraphBundle.load(out)
    entities = bundle.entities
    entities.model.show_progress = False
    rng = np.random.default_rng(0)
    names = [str(n) for n in rng.choice(entities.docs.ids, 4000, replace=False)]
    report["names_per_s"] = round(encode_rate(entities.model, names), 1)
    report.update(maxsim_rate(entities, 3000))
    mentions = [s for n in names[:200] for s in bundle.graph.graph.nodes[f"e:{n}"]["surface_forms"][:1]]
    report.update(link_latency(entities, mentions))
    if args.exact:
        pairs = entities.synonym_pairs()
        report.update(synonym_recall(entities, pairs))
    report["bench_peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
