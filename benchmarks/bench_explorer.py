"""The explorer on a large graph: route latency and the time until the page has drawn.

Prints one JSON object. Every loop is bounded in count (``--nodes`` hubs and as many
random entities, ``--questions``) and every wait in seconds::

    python benchmarks/bench_explorer.py --graph graphs/musique [--nodes 10] [--questions 5]

A `kglink serve` on a free loopback port serves the graph. The worst cases are the hubs
(the entities with most edges) and the largest picture the page offers (3 hops, 250
nodes); random entities are the common case. Routes are timed over HTTP (median, p95,
max); with Debian's chromium and chromedriver, the page is timed in headless Chromium
from navigation to a drawn picture (``performance.now()`` when ``#picture`` has its node
count), for the page's default picture (2 hops, 60 nodes) and its largest one.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_retrieval import QUESTIONS, build_if_missing  # noqa: E402
from bench_serve import start  # noqa: E402

from kglink import KnowledgeGraph  # noqa: E402

CHROMEDRIVER = "/usr/bin/chromedriver"
DRAW_TIMEOUT_S = 60


def pick_nodes(folder: Path, n: int, seed: int = 0) -> tuple[list[str], list[str], int]:
    """The ``n`` entities with most edges, ``n`` random ones, and the graph's node count."""
    graph = KnowledgeGraph.load(folder).graph
    entities = [v for v in graph if v.startswith("e:")]
    hubs = sorted(entities, key=lambda v: (-graph.degree(v), v))[:n]
    return hubs, random.Random(seed).sample(entities, n), graph.number_of_nodes()


def timed(calls) -> dict:
    """Seconds of each call (a bounded list of thunks answering httpx responses), summarised in ms."""
    ms, sizes = [], []
    for call in calls:
        start = time.perf_counter()
        response = call()
        ms.append(1000 * (time.perf_counter() - start))
        response.raise_for_status()
        body = response.json()
        sub = body.get("subgraph", body)
        sizes.append(len(sub.get("nodes", [])) if isinstance(sub, dict) else 0)
    q = lambda p: round(float(np.percentile(ms, p)), 1)  # noqa: E731
    return {"n": len(ms), "p50_ms": q(50), "p95_ms": q(95), "max_ms": q(100), "max_nodes_drawn": max(sizes)}


def routes(url: str, hubs: list[str], others: list[str], questions: list[str]) -> dict:
    c = httpx.Client(base_url=url + "/v1/graphs/g", timeout=60)
    sub = lambda v, h, m: lambda: c.get("/subgraph", params={"node": v, "hops": h, "max_nodes": m})  # noqa: E731
    ask = lambda q: lambda: c.post("/retrieve/subgraph", json={"question": q, "top_k": 5})  # noqa: E731
    out = {}
    for name, nodes in (("hubs", hubs), ("random", others)):
        out[f"node_{name}"] = timed([lambda v=v: c.get("/node", params={"node": v}) for v in nodes])
        out[f"subgraph_default_{name}"] = timed([sub(v, 2, 60) for v in nodes])
        out[f"subgraph_largest_{name}"] = timed([sub(v, 3, 250) for v in nodes])
        out[f"subgraph_route_cap_{name}"] = timed([sub(v, 4, 500) for v in nodes])
    out["question_subgraph"] = timed([ask(q) for q in questions])
    return out


def page(url: str, nodes: list[str]) -> dict | None:
    """Milliseconds from navigation to the drawn picture, default and largest, per node."""
    if not (shutil.which("chromium") and Path(CHROMEDRIVER).exists()):
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1366,800"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    drawn = "return document.getElementById('picture').getAttribute('data-nodes')"
    fresh = "return window.kglinkCy && !window.kglinkCy.stale"
    wait = lambda script: WebDriverWait(driver, DRAW_TIMEOUT_S, poll_frequency=0.02).until(  # noqa: E731
        lambda d: d.execute_script(script)
    )
    default, largest = [], []
    try:
        for node in nodes:
            driver.get("about:blank")  # a new document each time: performance.now() counts from its start
            driver.get(f"{url}/#g=g&node={quote(node)}")
            wait(drawn)
            default.append(driver.execute_script("return performance.now()"))
            driver.execute_script(
                "window.kglinkCy.stale = true; window.kglinkStart = performance.now();"
                "document.getElementById('hops').value = '3';"
                "const m = document.getElementById('max-nodes'); m.value = '250';"
                "m.dispatchEvent(new Event('change'));"  # the page reads both selects
            )
            wait(fresh)
            largest.append(driver.execute_script("return performance.now() - window.kglinkStart"))
    finally:
        driver.quit()
    med = lambda xs: round(float(np.median(xs)), 1)  # noqa: E731
    return {
        "n": len(nodes),
        "open_and_draw_ms_p50": med(default),
        "open_and_draw_ms_max": round(max(default), 1),
        "redraw_largest_ms_p50": med(largest),
        "redraw_largest_ms_max": round(max(largest), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", type=Path, default=Path("graphs/musique"))
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--questions", type=int, default=5)
    args = parser.parse_args()
    build_if_missing(args.graph)
    hubs, others, size = pick_nodes(args.graph, args.nodes)
    questions = []
    if QUESTIONS.exists():
        questions = [q["question"] for q in json.loads(QUESTIONS.read_text())[: args.questions]]
    proc, url = start(args.graph, batching=True)
    try:
        report = {"graph": str(args.graph), "graph_nodes": size, "hubs": hubs[:3]}
        report["routes"] = routes(url, hubs, others, questions)
        report["page_hubs"] = page(url, hubs)
        report["page_random"] = page(url, others)
    finally:
        proc.terminate()
        proc.wait(60)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
