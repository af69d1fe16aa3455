"""Synonymy at scale: building an entity index and its synonym pairs on 4k to 100k+ real names.

Names, deduplicated by their normalised form, from three sources in this repository's
reach: the MuSiQue OpenIE names (entities, triple subjects and objects), the
PubTator mentions of NCBI-disease and BC5CDR, and spans of the 2Wiki corpus passages
(deterministic, no spaCy: maximal runs of capitalised words, and word 2- and 3-grams
that neither start nor end with a stopword). Each size is a prefix of one fixed-seed
shuffle of all names and runs in its own process, so peak RSS (``ru_maxrss``, the
whole process: model, torch, faiss; taken after the pair stage, and again after the
exact checks) is that size's own. Prints one JSON line per size,
then one with the fitted log-log exponents, the fp32 matmul ceiling and a run on the
MuSiQue names alone. Recall is that of the candidate path's neighbours against exact
scoring, for a fixed sample of up to 1,000 query names from each source in the set.

    python benchmarks/bench_scale.py --sizes 4000 8000 16000 --max-seconds 600
"""

from __future__ import annotations

import argparse
import ast
import functools
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MUSIQUE = DATA / "hipporag" / "openie_musique_train_results_ner_gpt-3.5-turbo-1106_1890.json"
WIKI = DATA / "hipporag" / "2wikimultihopqa_corpus.json"
PUBTATOR = sorted((DATA / "ncbi_disease").glob("*.txt")) + sorted((DATA / "bc5cdr").glob("*.txt"))
SIZES = ["4000", "8000", "16000", "32000", "64000", "full"]
SAMPLE = 1_000  # query names scored exactly for recall when all-pairs exact is too slow
EXACT_ALL_BELOW = 8_001  # sizes at which recall is also taken against exact all-pairs
FULL = 110_000  # the full set: all MuSiQue and PubTator names, then 2Wiki spans up to this many
SOURCE_KEYS = (
    "names",
    "encode_s",
    "pair_s",
    "pair_over_encode",
    "recall_sampled",
    "recall_all_pairs",
    "pairs",
)
STOP = set(
    "a an and are as at be by for from has have he her his in is it its of on or she that the their "
    "there they this to was were which who with after also been but had into not one two were when".split()
)


def musique_names() -> list[str]:
    docs = json.loads(MUSIQUE.read_text())["docs"]
    names = []
    for doc in docs:
        for field in ("extracted_entities", "extracted_triples"):
            value = doc.get(field) or "[]"
            items = ast.literal_eval(value) if isinstance(value, str) else value
            for item in items:
                names += [item] if isinstance(item, str) else [str(x) for x in item[:1] + item[2:3]]
    return names


def pubtator_names() -> list[str]:
    from kglink.synonymy.groups import load_pubtator

    return [name for path in PUBTATOR for names in load_pubtator(path).values() for name in names]


def wiki_spans() -> list[str]:
    names = []
    for passage in json.loads(WIKI.read_text()):
        for sentence in re.split(r"(?<=[.!?])\s+", passage["title"] + ". " + passage["text"]):
            words = re.findall(r"[A-Za-z0-9][\w'-]*", sentence)
            run: list[str] = []
            for w in words + [""]:
                if w[:1].isupper():
                    run.append(w)
                    continue
                if run:
                    names.append(" ".join(run))
                run = []
            for n in (2, 3):
                for i in range(len(words) - n + 1):
                    gram = words[i : i + n]
                    if gram[0].lower() not in STOP and gram[-1].lower() not in STOP:
                        names.append(" ".join(gram))
    return names


@functools.cache
def sources() -> dict[str, list[str]]:
    """Each source's unique normalised names (with at least one letter or digit)."""
    from kglink.text import normalize_name

    out, seen = {}, set()
    for name, loader in (("musique", musique_names), ("pubtator", pubtator_names), ("2wiki", wiki_spans)):
        keys = [k for k in dict.fromkeys(normalize_name(n) for n in loader()) if k and len(k) <= 80]
        if name == "2wiki":  # spans in passage order, until the whole set passes FULL names
            fresh = [k for k in keys if k not in seen]
            keys = fresh[: max(0, FULL - len(seen))]
        out[name] = keys
        seen.update(keys)
    return out


def all_names() -> list[str]:
    names = list(dict.fromkeys(n for names in sources().values() for n in names))
    return [names[i] for i in np.random.default_rng(0).permutation(len(names))]


def matmul_ceiling() -> float:
    """fp32 GFLOP/s of a 2048^3 torch matmul on this machine, best of 5."""
    import torch

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(5))
    return 2 * 2048**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _stage_timers(index) -> dict[str, float]:
    """Wrap the index's candidate search and rescoring so each call's seconds add up."""
    spent = {"candidate_s": 0.0, "rescore_s": 0.0}
    for method, key in (("pooled_neighbors", "candidate_s"), ("score_candidates", "rescore_s")):
        inner = getattr(index, method)

        def timed(*args, _inner=inner, _key=key):
            start = time.perf_counter()
            try:
                return _inner(*args)
            finally:
                spent[_key] += time.perf_counter() - start

        setattr(index, method, timed)
    return spent


def directed(entities, ids: list[str], exhaustive: bool) -> set[tuple[str, str]]:
    """The (query, neighbour) pairs each of ``ids`` takes, by the exact or the candidate path."""
    from kglink.text import alnum_count

    eligible = {i for i in entities.docs.ids if alnum_count(i) >= 3}
    saved = entities.exhaustive_below
    entities.exhaustive_below = len(entities) + 1 if exhaustive else 0
    try:
        ids = [i for i in ids if i in eligible]
        return {
            (a, b)
            for a, b, _ in entities._neighbor_pairs(ids, entities.docs, entities.threshold, 100, eligible)
        }
    finally:
        entities.exhaustive_below = saved


def both_ways(entities, found: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The pairs among ``found`` whose lower direction reaches the threshold, as synonym_pairs keeps."""
    keys = sorted({(a, b) if a < b else (b, a) for a, b in found})
    if not keys:
        return set()
    lower = np.minimum(entities._pair_scores(keys), entities._pair_scores([(b, a) for a, b in keys]))
    return {k for k, s in zip(keys, lower) if s >= entities.threshold}


def run_one(names: list[str], exact_all: bool) -> dict:
    """Build one index with the candidate path and measure it."""
    import torch

    from kglink import EntityIndex, LateInteractionModel
    from kglink.index import tokens

    model = LateInteractionModel.from_pretrained(show_progress=False)
    entities = EntityIndex(model, exhaustive_below=0)
    start = time.perf_counter()
    entities.add(names, progress=False)
    encode_s = time.perf_counter() - start
    spent = _stage_timers(entities.docs)
    start = time.perf_counter()
    pairs = entities.synonym_pairs()
    pair_s = time.perf_counter() - start
    row = {
        "names": len(names),
        "tokens": int(sum(len(entities.docs.embedding(i)) for i in entities.docs.ids)),
    }
    row.update(encode_s=round(encode_s, 2), pair_s=round(pair_s, 2))
    row.update({k: round(v, 2) for k, v in spent.items()}, pairs=len(pairs))
    row["pair_over_encode"] = round(pair_s / encode_s, 3)
    row["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)  # the build
    if exact_all:
        start = time.perf_counter()
        entities.exhaustive_below = len(entities) + 1
        exact = {(p.source, p.target) for p in entities.synonym_pairs()}
        row["exact_s"] = round(time.perf_counter() - start, 2)
        got = {(p.source, p.target) for p in pairs}
        row["recall_all_pairs"] = round(len(got & exact) / max(1, len(exact)), 4)
        row["exact_pairs"] = len(exact)
    rng = np.random.default_rng(1)
    truth_all, found_all = set(), set()
    for kind, members in sources().items():  # a fixed sample of each source's names in this set
        ids = [i for i in members if i in entities]
        if not ids:
            continue
        sample = [ids[i] for i in rng.choice(len(ids), min(SAMPLE, len(ids)), replace=False)]
        truth, found = directed(entities, sample, True), directed(entities, sample, False)
        row[f"recall_sampled_{kind}"] = round(len(truth & found) / len(truth), 4) if truth else None
        row[f"sampled_neighbours_{kind}"] = len(truth)
        truth_all, found_all = truth_all | truth, found_all | found
    row["recall_sampled"] = round(len(truth_all & found_all) / max(1, len(truth_all)), 4)
    truth_pairs = both_ways(entities, truth_all)  # the exact pairs the sampled names find
    final = {(p.source, p.target) for p in pairs}
    row["recall_pairs_sampled"] = round(len(truth_pairs & final) / max(1, len(truth_pairs)), 4)
    row["sampled_pairs"] = len(truth_pairs)
    if len(entities) < tokens.POOLED_EXACT_BELOW:  # how the IVF used above it would do here
        saved, tokens.POOLED_EXACT_BELOW = tokens.POOLED_EXACT_BELOW, 0
        entities.docs._pooled = None
        ivf = directed(entities, sorted({a for a, _ in truth_all}), False)
        tokens.POOLED_EXACT_BELOW, entities.docs._pooled = saved, None
        row["recall_sampled_if_ivf"] = round(len(truth_all & ivf) / max(1, len(truth_all)), 4)
    linear = [m.weight for m in model.modules().modules() if isinstance(m, torch.nn.Linear)]
    flops = 2 * sum(w.numel() for w in linear) * row["tokens"]  # the matmuls; no embeddings, no attention
    row["encode_gflops"] = round(flops / encode_s / 1e9, 1)
    row["peak_rss_gb_with_checks"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    row["threads"] = torch.get_num_threads()
    return row


def exponent(rows: list[dict], key: str, smallest: int = 0) -> float | None:
    pts = [(r["names"], r[key]) for r in rows if r["names"] >= smallest and r[key] > 0]
    if len(pts) < 2:
        return None
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return round(float(np.polyfit(x, y, 1)[0]), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=SIZES, help="name counts, or 'full'")
    parser.add_argument("--max-seconds", type=float, default=3600, help="start no size after this long")
    parser.add_argument("--no-sources", action="store_true", help="skip the MuSiQue-names-alone run")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one size in this process
    args = parser.parse_args()
    if args.one:
        kind, size = args.one.split(":")
        names = sources()[kind] if kind != "all" else all_names()
        names = names[: int(size)] if size != "full" else names
        print(json.dumps(run_one(names, len(names) < EXACT_ALL_BELOW)))
        return
    begin, rows = time.perf_counter(), []
    full = len(all_names())
    for size in args.sizes:
        if time.perf_counter() - begin > args.max_seconds:
            break
        row = _child(f"all:{size}")
        row["size"] = size
        print(json.dumps(row), flush=True)
        rows.append(row)
    for r in rows:
        r["build_s"] = r["encode_s"] + r["pair_s"]
    summary = {
        "all_names": full,
        "matmul_gflops_fp32": round(matmul_ceiling(), 1),
        "exponent_build": exponent(rows, "build_s"),
        "exponent_build_16k_up": exponent(rows, "build_s", 16_000),
        "exponent_pair_stage": exponent(rows, "pair_s"),
        "exponent_encode": exponent(rows, "encode_s"),
    }
    if rows:
        summary["encode_fraction_of_ceiling"] = round(
            rows[-1]["encode_gflops"] / summary["matmul_gflops_fp32"], 3
        )
    if not args.no_sources and time.perf_counter() - begin < args.max_seconds:
        row = _child("musique:full")  # the MuSiQue names alone: the 0.5x target
        summary["musique_alone"] = {k: row.get(k) for k in SOURCE_KEYS}
    print(json.dumps(summary), flush=True)


def _child(spec: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--one", spec], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
