"""benchmarks/bench_gpu.py as a CPU smoke test: its JSON, checked against a direct computation."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from kglink import EntityIndex
from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_gpu.py"
OPENIE = ("data", "hipporag", "openie_musique_train_results_ner_gpt-3.5-turbo-1106_1890.json")


def _bench():
    spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_gpu_cpu_smoke_matches_a_direct_all_pairs_run(default_model):
    openie = shared_path(*OPENIE)
    cmd = [sys.executable, str(SCRIPT), "--device", "cpu", "--limit", "200", "--openie", str(openie)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)

    bench = _bench()
    names = bench.fit_names(default_model, bench.read_names(openie, None, 200))
    entities = EntityIndex(default_model, exhaustive_below=len(names) + 1)
    entities.add(names, progress=False)
    pairs = entities.synonym_pairs()
    digest = hashlib.sha1("\n".join(f"{p.source}\t{p.target}" for p in pairs).encode()).hexdigest()
    assert report["names"] == len(names) == 200
    assert report["all_pairs"]["pairs"] == len(pairs) > 0  # the first names of a file share synonyms
    assert report["all_pairs"]["pairs_sha1"] == digest
    assert report["all_pairs"]["pairs_scored"] == entities.pairs_scored >= (len(names) - 10) * len(names)

    q_tokens = sum(len(entities.queries.embedding(i)) for i in entities.docs.ids)
    d_tokens = sum(len(entities.docs.embedding(i)) for i in entities.docs.ids)
    assert report["tokens"] == {"query": q_tokens, "document": d_tokens, "dim": default_model.dim}
    assert report["maxsim"]["tflop"] == round(2 * default_model.dim * q_tokens * d_tokens / 1e12, 6)

    assert report["device_type"] == "cpu" and report["torch"]
    assert report["matmul_ceiling_tflops"]["float32"] > 0
    assert report["encode"]["float32"]["names_per_s"] > 0
    for path in ("score_blocks", "maxsim_topk_k100", "maxsim_full_matrix"):
        assert report["maxsim"][path]["tflops"] > 0 and report["maxsim"][path]["seconds"] > 0
        assert report["maxsim"][path][f"fraction_of_{report['maxsim']['dtype']}_ceiling"] > 0
    assert "CUDA" in report["flash_maxsim"]["skipped"]
    assert "skipped" in report["targets"]
    assert report["stages"]["total_s"] >= report["stages"]["all_pairs_s"] > 0
