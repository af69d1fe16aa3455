"""A real `kglink serve` on a free loopback port: kill -9 during writes, restart, SIGTERM drains."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from kglink import GraphBundle

KGLINK = [sys.executable, "-c", "from kglink.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(folder: Path, port: int, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KGLINK_API_KEYS": "k:admin"}
    cmd = [*KGLINK, "serve", "--graph", f"kg={folder}", "--port", str(port), *extra]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"kglink serve exited: {proc.stdout.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.kill()
    pytest.fail("kglink serve did not get ready in 120 s")


def _writer(port: int, acked: list[str], stop: threading.Event, limit: int = 200) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": "k"}, timeout=30) as c:
        for i in range(limit):
            if stop.is_set():
                return
            name = f"Crash Test Entity {i:03d}"
            try:
                r = c.post("/v1/graphs/kg/entities", json={"names": [name]})
            except httpx.TransportError:
                return
            if r.status_code == 200:
                acked.append(name.lower())


def test_kill_9_during_writes_loses_no_acknowledged_write(graph_copy, default_model):
    port = _free_port()
    proc = _start(graph_copy, port)
    acked: list[str] = []
    stop = threading.Event()
    threads = [threading.Thread(target=_writer, args=(port, acked, stop)) for _ in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # mid-stream: writes in flight
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    stop.set()
    for t in threads:
        t.join(60)
    assert len(acked) >= 4
    bundle = GraphBundle.load(graph_copy, default_model, show_progress=False)  # loads, no manual step
    assert set(acked) <= set(bundle.graph.entity_names()) and set(acked) <= set(bundle.entities.docs.ids)
    proc = _start(graph_copy, port)  # and the server starts again from the folder
    try:
        info = httpx.get(f"http://127.0.0.1:{port}/v1/graphs/kg", headers={"X-API-Key": "k"}).json()
        assert info["stats"]["entities"] == len(bundle.graph.entity_names())
        from click.testing import CliRunner

        from kglink.cli import main

        args = ["link", "--server", f"http://127.0.0.1:{port}", "--graph", "kg", "--json", acked[0]]
        remote = CliRunner().invoke(main, args, env={"KGLINK_API_KEY": "k"})
        assert remote.exit_code == 0, remote.output
        local = CliRunner().invoke(main, ["link", "--graph", str(graph_copy), "--json", acked[0]])
        assert remote.output == local.output and f'"node_id": "{acked[0]}"' in remote.output
    finally:
        proc.kill()
        proc.wait(30)


def test_sigterm_drains_the_writes_in_progress(graph_copy, default_model):
    port = _free_port()
    proc = _start(graph_copy, port)
    results: list[int] = []

    def write(i: int) -> None:
        with httpx.Client(headers={"X-API-Key": "k"}, timeout=60) as c:
            r = c.post(
                f"http://127.0.0.1:{port}/v1/graphs/kg/entities", json={"names": [f"Drained Entity {i}"]}
            )
            results.append(r.status_code)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.5)  # the requests are in, some writes are queued
    proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(90)
    assert proc.wait(90) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has drained
    bundle = GraphBundle.load(graph_copy, default_model, show_progress=False)
    done = [f"drained entity {i}" for i in range(6)]
    assert results.count(200) == 6, results  # every request that got in was answered
    assert set(done) <= set(bundle.graph.entity_names())


def test_no_key_on_a_public_host_is_refused():
    env = {k: v for k, v in os.environ.items() if k != "KGLINK_API_KEYS"}
    r = subprocess.run(
        [*KGLINK, "serve", "--graph", "x", "--host", "0.0.0.0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "--insecure" in r.stderr
