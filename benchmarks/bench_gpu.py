"""GPU benchmark: encoding, MaxSim against the matmul ceiling, all-pairs synonymy, flash-maxsim.

Prints one JSON object, every figure measured in this run on one device:

* ``encode``: names encoded per second (query and document sides, one pass) with the
  embedded model loaded in each dtype (float16, bfloat16, float32 on CUDA; float32 on
  CPU, plus bfloat16 where :func:`kglink.scores.compute_dtype` picks it, i.e. with AMX);
* ``matmul_ceiling_tflops``: ``torch.matmul`` of large square matrices per dtype;
* ``maxsim``: TFLOP/s of ``score_blocks`` / ``maxsim_topk`` / ``maxsim`` on the real name
  encodings (all names against all names), and their fraction of the ceilings;
* ``all_pairs``: ``EntityIndex(model, exhaustive_below=n + 1).add(names)`` then
  ``.synonym_pairs()``: exact all-pairs synonymy, its seconds and pair count;
* ``flash_maxsim``: the same shapes through the fused Triton kernel of the
  ``flash-maxsim`` package, the anchor (skipped, with the reason, without CUDA or the package);
* ``targets`` (CUDA only): all-pairs on the full set <= 10 s, MaxSim >= 50 % of fp16 matmul.

Names are the MuSiQue OpenIE names (entities and triple subjects/objects, normalised as
graph nodes are) or one name per line of ``--names FILE``.

Usage: ``python benchmarks/bench_gpu.py [--device cuda|cpu] [--limit N] [--names FILE]``
(``--device cpu --limit 500`` is a quick smoke test).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hipporag"
OPENIE = DATA / "openie_musique_train_results_ner_gpt-3.5-turbo-1106_1890.json"
ALL_PAIRS_TARGET_S, MAXSIM_TARGET = 10.0, 0.5  # the GPU targets


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def timed_once(fn, device: torch.device) -> float:
    """Seconds of one call, the device synchronised before and after."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def timed(fn, device: torch.device, repeat: int) -> float:
    """Median seconds of ``repeat`` calls after one warm-up."""
    fn()
    return statistics.median(timed_once(fn, device) for _ in range(repeat))


def read_names(openie: Path | None, names_file: Path | None, limit: int | None) -> list[str]:
    """Distinct normalised names in file order (passage by passage); ``limit`` keeps the first N.

    The first N, not a random sample: names of the same passages include real synonym
    pairs, so a small smoke run still scores and finds some.
    """
    from kglink.corpus.openie import load_openie
    from kglink.text import normalize_name

    if names_file is not None:
        raw = names_file.read_text(encoding="utf-8").splitlines()
    else:
        raw = [
            n
            for d in load_openie(openie).docs
            for n in (*d.entities, *(x for t in d.triples for x in t[::2]))
        ]
    return [k for k in dict.fromkeys(normalize_name(n) for n in raw) if k][:limit]


def fit_names(model, names: list[str]) -> list[str]:
    """The names within the model's query and document lengths (longer ones would raise in add)."""
    sides = [(model.token_lengths(names, side), model.max_length(side)) for side in (True, False)]
    return [n for i, n in enumerate(names) if all(lengths[i] <= limit for lengths, limit in sides)]


def encode_rates(names: list[str], device: torch.device, dtypes: list[str], batch: int) -> dict:
    """Names/s per model dtype: ``encode_both`` over all names after a one-batch warm-up."""
    from kglink import LateInteractionModel

    out = {}
    for dtype in dtypes:
        start = time.perf_counter()
        model = LateInteractionModel.from_pretrained(device=str(device), dtype=dtype, show_progress=False)
        load = time.perf_counter() - start
        model.encode_both(names[:batch], batch_size=batch)
        seconds = timed_once(lambda m=model: m.encode_both(names, batch_size=batch), device)
        out[dtype] = {"load_s": round(load, 2), "seconds": round(seconds, 3)}
        out[dtype]["names_per_s"] = round(len(names) / seconds, 1)
    return out


def matmul_ceiling(device: torch.device, dtype: torch.dtype, size: int, repeat: int) -> float:
    """TFLOP/s of one ``[size, size] @ [size, size]`` matmul (2 * size**3 FLOPs)."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    return 2 * size**3 / timed(lambda: torch.matmul(a, b), device, repeat) / 1e12


def maxsim_flop(q_offsets: np.ndarray, d_offsets: np.ndarray, dim: int) -> int:
    """Useful FLOPs of all-queries-against-all-documents MaxSim on real (unpadded) tokens.

    Each (query, document) pair costs 2 x Lq x Ld x dim (a multiply and an add per
    element of its Lq x Ld similarity block); summed over all pairs that is
    2 x dim x (sum of Lq) x (sum of Ld). Padding and the max/sum reductions are not counted.
    """
    return 2 * dim * int(q_offsets[-1]) * int(d_offsets[-1])


def maxsim_rates(
    queries, docs, device: torch.device, dtype: torch.dtype, ceilings: dict, repeat: int
) -> dict:
    """TFLOP/s of kglink's MaxSim paths on packed ``queries`` / ``docs`` (all against all)."""
    from kglink.scores import DEFAULT_BUDGET, maxsim, maxsim_topk, score_blocks

    def sweep(budget: int):
        for block in score_blocks(*queries, *docs, device, dtype, budget):
            block[2].sum()  # touch every block; timed() synchronises at the end

    q_list = [queries[0][a:b] for a, b in zip(queries[1][:-1], queries[1][1:])]
    d_list = [docs[0][a:b] for a, b in zip(docs[1][:-1], docs[1][1:])]
    paths = {
        "score_blocks": lambda: sweep(DEFAULT_BUDGET),
        "maxsim_topk_k100": lambda: maxsim_topk(queries, docs, 100, device=device, dtype=dtype),
        "maxsim_full_matrix": lambda: maxsim(q_list, d_list, device=device, dtype=dtype),
    }
    if device.type == "cuda":  # is the library's default block budget what holds a GPU back?
        paths["score_blocks_budget_x16"] = lambda: sweep(16 * DEFAULT_BUDGET)
    flop = maxsim_flop(queries[1], docs[1], queries[0].shape[1])
    out = {"dtype": dtype_name(dtype), "tflop": round(flop / 1e12, 6)}
    for name, fn in paths.items():
        seconds = timed(fn, device, repeat)
        out[name] = rate(flop, seconds, ceilings, dtype_name(dtype))
    return out


def rate(flop: int, seconds: float, ceilings: dict, dtype: str) -> dict:
    tflops = flop / seconds / 1e12
    row = {"seconds": round(seconds, 4), "tflops": round(tflops, 4)}
    for ref in dict.fromkeys([dtype, "float16"]):
        if ref in ceilings:
            row[f"fraction_of_{ref}_ceiling"] = round(tflops / ceilings[ref], 4)
    return row


def all_pairs(model, names: list[str]) -> tuple[dict, object]:
    """Exact all-pairs synonymy with the library's defaults; returns the figures and the index."""
    from kglink import EntityIndex

    entities = EntityIndex(model, exhaustive_below=len(names) + 1)
    start = time.perf_counter()
    entities.add(names, progress=False)
    added = time.perf_counter() - start
    start = time.perf_counter()
    pairs = entities.synonym_pairs()
    seconds = time.perf_counter() - start
    digest = hashlib.sha1("\n".join(f"{p.source}\t{p.target}" for p in pairs).encode()).hexdigest()
    return {
        "add_s": round(added, 3),
        "synonym_pairs_s": round(seconds, 3),
        "pairs": len(pairs),
        "pairs_sha1": digest,
        "pairs_scored": entities.pairs_scored,
        "threshold": entities.threshold,
    }, entities


def flash_anchor(queries, docs, device: torch.device, ceilings: dict, repeat: int) -> dict:
    """The same all-against-all MaxSim through flash-maxsim's fused kernel (float16 in)."""
    if device.type != "cuda":
        return {"skipped": f"flash-maxsim is a CUDA/Triton kernel; this run is on {device.type}"}
    try:
        from flash_maxsim import flash_maxsim_batched
    except Exception as err:  # ImportError, or triton failing to find its compiler
        return {"skipped": f"flash-maxsim is not importable here: {type(err).__name__}: {err}"}
    q, q_len = padded(*queries, device)
    d, d_len = padded(*docs, device)
    chunk = 4096  # queries per call: bounds the [chunk, n_docs] float32 output

    def run() -> list[torch.Tensor]:
        return [
            flash_maxsim_batched(q[i : i + chunk], d, doc_lengths=d_len, query_lengths=q_len[i : i + chunk])
            for i in range(0, len(q), chunk)
        ]

    start = time.perf_counter()
    try:
        first = torch.cat(run())  # compiles and autotunes the Triton kernels
        torch.cuda.synchronize(device)
    except Exception as err:  # a Triton build failing on this machine must not lose the report
        return {"skipped": f"flash-maxsim failed to run here: {type(err).__name__}: {err}"[:500]}
    warmup = time.perf_counter() - start
    seconds = timed(run, device, repeat)
    out = {
        "warmup_s": round(warmup, 2),
        **rate(maxsim_flop(queries[1], docs[1], q.shape[2]), seconds, ceilings, "float16"),
    }
    out["max_abs_diff_vs_kglink"] = agreement(first, queries, docs, device)
    return out


def padded(
    tokens: np.ndarray, offsets: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """``[n, max_len, dim]`` float16 with zero padding, and the ``[n]`` int32 real lengths."""
    lengths = np.diff(offsets)
    out = torch.zeros(len(lengths), int(lengths.max()), tokens.shape[1], dtype=torch.float16)
    for i, (a, b) in enumerate(zip(offsets[:-1], offsets[1:])):
        out[i, : b - a] = torch.from_numpy(tokens[a:b])
    return out.to(device), torch.from_numpy(lengths).to(device, torch.int32)


def agreement(flash_scores: torch.Tensor, queries, docs, device: torch.device, n: int = 64) -> float:
    """Largest |flash - kglink| raw MaxSim over the first ``n`` queries against all documents."""
    from kglink.scores import maxsim

    q_list = [queries[0][a:b] for a, b in zip(queries[1][:n], queries[1][1 : n + 1])]
    d_list = [docs[0][a:b] for a, b in zip(docs[1][:-1], docs[1][1:])]
    ours = maxsim(q_list, d_list, device=device, dtype=torch.float16)
    return round(float(np.abs(flash_scores[: len(q_list)].float().cpu().numpy() - ours).max()), 5)


def targets(report: dict) -> dict:
    """The issue's GPU targets as booleans (CUDA only), with the figures they were read from."""
    if report["device_type"] != "cuda":
        return {"skipped": "the targets are for CUDA; this is a CPU smoke test"}
    ms = report["maxsim"]
    best = max((k for k in ms if isinstance(ms[k], dict)), key=lambda k: ms[k]["tflops"])
    fraction = ms[best]["tflops"] / report["matmul_ceiling_tflops"]["float16"]
    return {
        "all_pairs_le_10s": report["all_pairs"]["synonym_pairs_s"] <= ALL_PAIRS_TARGET_S,
        "maxsim_ge_half_fp16_ceiling": fraction >= MAXSIM_TARGET,
        "maxsim_best_path": best,
        "maxsim_best_fraction_of_float16_ceiling": round(fraction, 4),
    }


def device_info(device: torch.device) -> dict:
    if device.type == "cuda":
        return {"device": torch.cuda.get_device_name(device), "cuda": torch.version.cuda}
    return {
        "device": f"cpu ({os.cpu_count()} cores)",
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (a smoke test)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N names")
    parser.add_argument("--names", type=Path, default=None, help="one name per line instead of MuSiQue")
    parser.add_argument("--openie", type=Path, default=OPENIE, help="HippoRAG OpenIE results file")
    parser.add_argument("--write-names", type=Path, default=None, help="write the names and stop")
    parser.add_argument("--batch-size", type=int, default=None, help="encoding batch (cpu 64, cuda 512)")
    parser.add_argument("--repeat", type=int, default=None, help="timed repeats (cpu 1, cuda 3)")
    return parser.parse_args()


def dtypes(device: torch.device) -> dict[str, list[torch.dtype]]:
    """What each stage measures: fp16/bf16 (and fp32 encoding) on CUDA; fp32 on CPU, bf16 too with AMX."""
    from kglink.scores import compute_dtype

    if device.type == "cuda":
        halves = [torch.float16, torch.bfloat16]
        return {"encode": [*halves, torch.float32], "ceiling": halves, "maxsim": halves}
    cpu = list(dict.fromkeys([torch.float32, compute_dtype(device)]))  # bf16 only where it is faster
    return {"encode": cpu, "ceiling": cpu, "maxsim": [compute_dtype(device)]}


def scoring(report: dict, entities, device: torch.device, plan: dict, repeat: int) -> dict:
    """Ceilings, kglink MaxSim and flash-maxsim on the index's own (float16-rounded) encodings."""
    from kglink.scores import pack

    stages, t = {}, time.perf_counter()
    queries = pack([entities.queries.embedding(i) for i in entities.docs.ids])
    docs = pack([entities.docs.embedding(i) for i in entities.docs.ids])
    report["tokens"] = {
        "query": int(queries[1][-1]),
        "document": int(docs[1][-1]),
        "dim": int(queries[0].shape[1]),
    }
    size, times = (8192, 20) if device.type == "cuda" else (1024, repeat + 2)
    ceilings = {dtype_name(dt): matmul_ceiling(device, dt, size, times) for dt in plan["ceiling"]}
    report["matmul_ceiling_tflops"] = {k: round(v, 4) for k, v in ceilings.items()}
    stages["ceiling_s"], t = time.perf_counter() - t, time.perf_counter()
    runs = [maxsim_rates(queries, docs, device, dt, ceilings, repeat) for dt in plan["maxsim"]]
    report["maxsim"], report["maxsim_other_dtypes"] = runs[0], {r["dtype"]: r for r in runs[1:]}
    stages["maxsim_s"], t = time.perf_counter() - t, time.perf_counter()
    report["flash_maxsim"] = flash_anchor(queries, docs, device, ceilings, repeat)
    stages["flash_maxsim_s"] = time.perf_counter() - t
    return stages


def main() -> None:
    args = parse_args()
    if args.names is None and not args.openie.is_file():
        sys.exit(f"MuSiQue OpenIE not found at {args.openie}; pass --openie PATH or --names FILE")
    from kglink import LateInteractionModel
    from kglink.device import resolve_device

    t0 = time.perf_counter()
    device = resolve_device(args.device)
    cuda, plan = device.type == "cuda", dtypes(device)
    batch, repeat = args.batch_size or (512 if cuda else 64), args.repeat or (3 if cuda else 1)
    index_dtype = "float16" if cuda else "float32"
    model = LateInteractionModel.from_pretrained(device=str(device), dtype=index_dtype, show_progress=False)
    names = fit_names(model, read_names(args.openie, args.names, args.limit))
    if args.write_names:
        args.write_names.write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
        return
    report = {**device_info(device), "device_type": device.type, "torch": torch.__version__}
    report |= {
        "torch_threads": torch.get_num_threads(),
        "names": len(names),
        "names_source": str(args.names or args.openie),
    }
    report |= {"index_model_dtype": index_dtype, "encode_batch": batch, "repeat": repeat}
    report["dtypes"] = {stage: [dtype_name(d) for d in kinds] for stage, kinds in plan.items()}
    stages, t = {"load_names_s": time.perf_counter() - t0}, time.perf_counter()
    report["encode"] = encode_rates(names, device, [dtype_name(d) for d in plan["encode"]], batch)
    stages["encode_s"], t = time.perf_counter() - t, time.perf_counter()
    report["all_pairs"], entities = all_pairs(model, names)
    stages["all_pairs_s"] = time.perf_counter() - t
    stages |= scoring(report, entities, device, plan, repeat)
    report["targets"] = targets(report)
    report["stages"] = {k: round(v, 2) for k, v in {**stages, "total_s": time.perf_counter() - t0}.items()}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
