"""Fixtures for the server tests: the sample graph built once, servers started in-process."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from kglink import GraphBundle, build_graph
from kglink.serve import Limits, Service, create_app

SAMPLE = Path(__file__).resolve().parents[2] / "graphs" / "sample"


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory, default_model) -> Path:
    """The shipped sample built and saved once; tests that write take a copy (:func:`graph_copy`)."""
    folder = tmp_path_factory.mktemp("serve") / "sample-kg"
    build_graph(SAMPLE / "openie.json", SAMPLE / "corpus.json", model=default_model).save(folder)
    return folder


@pytest.fixture(scope="session")
def library(sample_dir, default_model) -> GraphBundle:
    """The same graph loaded by the library, to compare the server's answers with."""
    return GraphBundle.load(sample_dir, default_model, show_progress=False)


@pytest.fixture
def graph_copy(sample_dir, tmp_path) -> Path:
    folder = tmp_path / "kg"
    shutil.copytree(sample_dir, folder)
    return folder


@pytest.fixture
def serve(default_model):
    """``serve(graphs, **options)`` -> (service, app), started; closed at the end of the test."""
    started = []

    def start(graphs, **options):
        limits = options.pop("limits", Limits())
        service = Service(graphs, model=default_model, limits=limits, **options)
        app = create_app(service)
        service.start()
        started.append(service)
        return service, app

    yield start
    for service in started:
        if not service.closing:
            service.close()


@pytest.fixture
def client():
    """``client(app, **headers)``: an httpx client on the ASGI app, in-process."""

    def make(app, **headers) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test", headers=headers)

    return make


@pytest.fixture
def live():
    """``live(app)`` -> URL of the app served by uvicorn on a free loopback port (stopped at the end)."""
    import socket
    import threading
    import time

    import uvicorn

    servers = []

    def start(app) -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(30)
