"""`kglink serve` under load, on loopback: /link latency and throughput, batching on and off; mixed load.

Prints one JSON object. Every loop is bounded in requests and in seconds::

    python benchmarks/bench_serve.py --graph graphs/sample-kg [--seconds 8] [--mixed-seconds 60] [--plot P]

Two servers are started in turn on free loopback ports (``--batching`` and ``--no-batching``);
at 1, 8 and 32 concurrent clients each sends single-mention /link requests for
``--seconds``. Then, against the batching server, readers (/link, /synonyms) run beside one
writer adding new names for ``--mixed-seconds``; afterwards the folder is loaded and every
write answered 200 must be in it (``lost_writes``). ``--plot FILE.png`` also draws throughput
and p99 latency against clients, batching on and off (``kglink[plot]``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

MENTIONS = [
    "Zimbabwe",
    "Judith Viorst",
    "American Psychological Association",
    "Brothers Grimm",
    "Harare",
    "first president of the APA",
    "Journal of Psychotherapy Integration",
    "Lake Kariba",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(folder: Path, batching: bool) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [
        sys.executable,
        "-c",
        "from kglink.cli import main; main()",
        "serve",
        "--graph",
        f"g={folder}",
        "--port",
        str(port),
        "--batching" if batching else "--no-batching",
        "--max-queue",
        "1024",
    ]
    proc = subprocess.Popen(cmd, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the server did not start in 300 s")


def load(url: str, clients: int, seconds: float, max_requests: int = 100_000) -> dict:
    """``clients`` threads sending single-mention /link for ``seconds`` (or ``max_requests`` in all)."""
    latencies, errors, lock = [], [0], threading.Lock()
    stop = time.monotonic() + seconds

    def client(k: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            i = k
            while time.monotonic() < stop and len(latencies) < max_requests:
                t = time.perf_counter()
                r = c.post("/v1/graphs/g/link", json={"mentions": [MENTIONS[i % len(MENTIONS)]], "top_k": 5})
                with lock:
                    latencies.append(time.perf_counter() - t) if r.status_code == 200 else None
                    errors[0] += r.status_code != 200
                i += clients

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "clients": clients,
        "requests": len(ms),
        "errors": errors[0],
        "rps": round(len(ms) / wall, 1),
        **{f"p{q}_ms": round(float(np.percentile(ms, q)), 1) for q in (50, 95, 99)},
    }


def mixed(url: str, seconds: float, readers: int = 8) -> tuple[dict, list[str]]:
    stop = time.monotonic() + seconds
    counts, acked, lock = {"reads": 0, "writes": 0, "errors": 0}, [], threading.Lock()

    def reader(k: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            i = k
            while time.monotonic() < stop:
                r = (
                    c.post("/v1/graphs/g/link", json={"mentions": [MENTIONS[i % len(MENTIONS)]]})
                    if i % 4
                    else c.get("/v1/graphs/g/synonyms", params={"limit": 20})
                )
                with lock:
                    counts["reads" if r.status_code == 200 else "errors"] += 1
                i += readers

    def writer() -> None:
        with httpx.Client(base_url=url, timeout=120) as c:
            for i in range(100_000):
                if time.monotonic() >= stop:
                    return
                name = f"Bench Entity {i:05d} of Load"
                r = c.post("/v1/graphs/g/entities", json={"names": [name]})
                with lock:
                    counts["writes" if r.status_code == 200 else "errors"] += 1
                    acked.append(name.lower()) if r.status_code == 200 else None

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(readers)] + [
        threading.Thread(target=writer)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"seconds": seconds, "readers": readers, **counts}, acked


def plot(report: dict, path: str):
    """Requests/s and p99 latency against clients, one line per batching setting."""
    from kglink.plots import table_figure

    rows: dict[int, dict] = {}
    for setting, runs in report["link"].items():
        for run in runs:
            row = rows.setdefault(run["clients"], {"clients": run["clients"]})
            row[f"batching {setting}: requests/s"] = run["rps"]
            row[f"batching {setting}: p99 ms"] = run["p99_ms"]
    panels = {
        "requests/s": [f"batching {s}: requests/s" for s in report["link"]],
        "p99 latency (ms)": [f"batching {s}: p99 ms" for s in report["link"]],
    }
    table = sorted(rows.values(), key=lambda r: r["clients"])
    title = f"kglink serve /link on {report['graph']} ({report['cpus']} CPUs)"
    return table_figure(table, "clients", panels, path, logx=True, title=title)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graph", default="graphs/sample-kg")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--mixed-seconds", type=float, default=60.0)
    parser.add_argument("--plot", default=None, help="Also draw the /link table to this PNG (kglink[plot]).")
    args = parser.parse_args()
    if args.plot:
        from kglink.plots import require_matplotlib

        require_matplotlib()
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    folder = work / "g"
    shutil.copytree(args.graph, folder)  # the mixed load writes: never into the given folder
    import torch

    out = {
        "graph": args.graph,
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "link": {},
    }
    for batching in (True, False):
        proc, url = start(folder, batching)
        try:
            load(url, 4, 2.0)  # warm-up
            out["link"]["on" if batching else "off"] = [load(url, n, args.seconds) for n in (1, 8, 32)]
            if batching:
                out["mixed"], acked = mixed(url, args.mixed_seconds)
        finally:
            proc.terminate()
            proc.wait(120)
    from kglink import GraphBundle

    bundle = GraphBundle.load(folder, show_progress=False)
    out["mixed"]["lost_writes"] = len(set(acked) - set(bundle.graph.entity_names()))
    on, off = out["link"]["on"][-1]["rps"], out["link"]["off"][-1]["rps"]
    out["speedup_32_clients"] = round(on / off, 2) if off else None
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out, indent=1))
    if args.plot:
        plot(out, args.plot)


if __name__ == "__main__":
    main()
