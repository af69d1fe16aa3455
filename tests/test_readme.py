"""Every ```python block of the README runs, in order, in a scratch folder."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_blocks_run(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert len(blocks) >= 5
    (tmp_path / "graphs").mkdir()
    (tmp_path / "graphs" / "sample").symlink_to(ROOT / "graphs" / "sample")
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "Stanford University" in out and "barack obama True" in out and "[[1.4 1. ]]" in out


def _blocks(section: str, lang: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{lang}\n(.*?)```", body, flags=re.S)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_readme_service_commands_run(tmp_path):
    """The Service section's build and keyed serve commands, then every curl line against that server."""
    setup, calls = _blocks("Service", "bash")[:2]
    commands = [c.strip() for c in setup.replace("\\\n", " ").splitlines()]
    builds = [c.split("  #")[0] for c in commands if c.startswith("kglink build")]
    serve = next(c for c in commands if "KGLINK_API_KEYS" in c and "kglink serve" in c)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    (tmp_path / "graphs").mkdir()
    (tmp_path / "graphs" / "sample").symlink_to(ROOT / "graphs" / "sample")
    demo = "kglink build --openie graphs/sample/openie.json --corpus graphs/sample/corpus.json"
    for command in [
        f"{demo} --out graphs/sample-kg --no-progress",
        *builds,
    ]:  # `make demo`, then the README's
        subprocess.run(command, shell=True, check=True, cwd=tmp_path, env=env, capture_output=True)
    port = _free_port()
    serve = serve.replace("--host 0.0.0.0", f"--host 127.0.0.1 --port {port}")
    server = subprocess.Popen(serve, shell=True, cwd=tmp_path, env=env, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        script = 'set -e\ncurl() { command curl --fail-with-body "$@"; }\n' + calls
        done = subprocess.run(
            ["bash", "-c", script.replace("localhost:8000", f"127.0.0.1:{port}")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    assert '"added":["republic of zimbabwe","entity added by mistake"]' in out
    assert '"merged":["republic of zimbabwe"]' in out and '"removed":["entity added by mistake"]' in out
    assert '"state":"done"' in out and "event: done" in out and "kglink_request_seconds" in out


def test_readme_explorer_exports_run(tmp_path):
    """The Explorer section's export commands, on the graph `make demo` builds."""
    [block] = _blocks("Service", "bash")[2:]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    (tmp_path / "graphs").mkdir()
    (tmp_path / "graphs" / "sample").symlink_to(ROOT / "graphs" / "sample")
    demo = "kglink build --openie graphs/sample/openie.json --corpus graphs/sample/corpus.json"
    for script in (f"{demo} --out graphs/sample-kg --no-progress", "set -e\n" + block):
        subprocess.run(["bash", "-c", script], check=True, cwd=tmp_path, env=env, capture_output=True)
    picture = json.loads((tmp_path / "zimbabwe.json").read_text())
    keys = {node["id"] for node in picture["nodes"]}
    assert "e:zimbabwe" in keys and 1 < len(keys) <= 30
    for page in ("zimbabwe.html", "apa.html"):
        html = (tmp_path / page).read_text()
        assert "cytoscape" in html and not re.search(r"<script[^>]+src=", html)  # inlined: opens offline
