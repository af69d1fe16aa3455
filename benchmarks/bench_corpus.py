"""Raw corpus -> graph with the spaCy extractor: build time, update time, and retrieval; prints JSON.

One command gives:

* **2wiki build**: ``kglink build --corpus 2wikimultihopqa_corpus.json --extractor spacy``
  (6,119 documents, chunked at 256 model tokens): wall seconds, the stage timings,
  entity / relation / synonym counts, peak RSS;
* **update**: the same command with ``--update`` on the corpus plus 100 extra documents
  (the first 100 MuSiQue passages): what it added and how long it took;
* **MuSiQue table**: passage Recall@2/@5 on the dev questions for dense retrieval, the
  graph from HippoRAG's released GPT-3.5 OpenIE, and the graph built by spaCy from the
  raw corpus (documents kept whole, ``--chunk-tokens 0``, so gold passages keep their
  text), same encoder and retriever settings everywhere.

Builds run through the ``kglink`` command, one at a time. Graphs go to ``--out``
(default ``graphs/``): ``2wiki-spacy``, ``musique-spacy``, ``musique`` (GPT-3.5; reused
if present, or name it with ``--gpt-graph``).

Usage: ``python benchmarks/bench_corpus.py [--out graphs] [--skip-2wiki] [--skip-musique]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_retrieval import DATA, QUESTIONS, build_if_missing, row  # noqa: E402

from kglink import GraphBundle  # noqa: E402
from kglink.retrieval.evaluate import load_questions  # noqa: E402
from kglink.retrieval.retriever import GraphRetriever  # noqa: E402

TWOWIKI = DATA / "2wikimultihopqa_corpus.json"
MUSIQUE_CORPUS = DATA / "musique_train_corpus.json"
COUNTS = ("passages", "entities", "relation_edges", "triples", "synonym_edges", "relation_synonyms")


def kglink_build(*args: str) -> dict:
    """Run ``kglink build ... --json``; its stats plus wall seconds and the load average before it."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "kglink", "build", *args, "--no-progress", "--json"]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    stats["wall_s"] = round(time.perf_counter() - start, 1)
    stats["load_before"] = round(load, 2)
    print(json.dumps(stats), file=sys.stderr, flush=True)
    return stats


def twowiki(out: Path) -> dict:
    """Full build of the 2wiki corpus, then an update with 100 extra documents."""
    folder = out / "2wiki-spacy"
    build = kglink_build("--corpus", str(TWOWIKI), "--extractor", "spacy", "--out", str(folder))
    rss_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    extra = json.loads(MUSIQUE_CORPUS.read_text())[:100]
    with tempfile.TemporaryDirectory() as tmp:
        grown = Path(tmp) / "grown.json"
        grown.write_text(json.dumps(json.loads(TWOWIKI.read_text()) + extra))
        update = kglink_build(
            "--corpus", str(grown), "--extractor", "spacy", "--out", str(folder), "--update"
        )
    keep = (
        "chunk_s",
        "extract_s",
        "graph_s",
        "encode_s",
        "synonyms_s",
        "passages_s",
        "wall_s",
        "load_before",
    )
    return {
        "documents": len(json.loads(TWOWIKI.read_text())),
        "build": {**{k: build[k] for k in COUNTS}, **{k: build.get(k) for k in keep}},
        "peak_rss_gb": round(rss_gb, 2),
        "update_100_documents": update,
    }


def musique(out: Path, gpt: Path) -> dict:
    """Recall@2/@5 on the MuSiQue questions: dense, GPT-3.5 OpenIE graph, spaCy graph."""
    spacy_dir = out / "musique-spacy"
    build_if_missing(gpt)
    built = kglink_build(
        "--corpus",
        str(MUSIQUE_CORPUS),
        "--extractor",
        "spacy",
        "--chunk-tokens",
        "0",
        "--out",
        str(spacy_dir),
    )
    rows = []
    for name, folder in (("GPT-3.5 OpenIE", gpt), ("spaCy (raw corpus)", spacy_dir)):
        bundle = GraphBundle.load(folder)
        bundle.entities.model.show_progress = False
        questions = load_questions(str(QUESTIONS), bundle.graph)
        retriever = GraphRetriever(bundle)
        if not rows:
            rows.append(row("dense only", questions, retriever.retrieve_dense))
        rows.append({**row(f"graph, {name}", questions, retriever.retrieve), **_counts(bundle)})
    return {
        "questions": len(questions),
        "spacy_build": {k: built[k] for k in (*COUNTS, "wall_s")},
        "table": rows,
    }


def _counts(bundle: GraphBundle) -> dict:
    stats = bundle.graph.stats()
    return {k: stats[k] for k in ("entities", "relation_edges", "synonym_edges")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("graphs"))
    parser.add_argument("--gpt-graph", type=Path, default=None, help="GPT-3.5 graph (default OUT/musique)")
    parser.add_argument("--skip-2wiki", action="store_true")
    parser.add_argument("--skip-musique", action="store_true")
    args = parser.parse_args()
    if not TWOWIKI.is_file():
        sys.exit(f"{TWOWIKI} not found; this benchmark needs ../shared/data")
    report = {"cpu_count": os.cpu_count()}
    if not args.skip_2wiki:
        report["2wiki"] = twowiki(args.out)
    if not args.skip_musique:
        report["musique"] = musique(args.out, args.gpt_graph or args.out / "musique")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
