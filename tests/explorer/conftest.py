"""Fixtures for the explorer tests: the sample graph, a real `kglink serve`, headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kglink import build_graph

SAMPLE = Path(__file__).resolve().parents[2] / "graphs" / "sample"
KGLINK = [sys.executable, "-c", "from kglink.cli import main; main()"]
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="session")
def explorer_graph(tmp_path_factory, default_model) -> Path:
    """The shipped sample built once; tests that write take a copy."""
    folder = tmp_path_factory.mktemp("explorer") / "sample-kg"
    build_graph(SAMPLE / "openie.json", SAMPLE / "corpus.json", model=default_model).save(folder)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `kglink serve` subprocess on a free loopback port, serving one graph as ``kg``."""

    def __init__(self, folder: Path, keys: str = "") -> None:
        self.folder, self.port = folder, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k != "KGLINK_API_KEYS"}
        env.update(HF_HUB_OFFLINE="1", **({"KGLINK_API_KEYS": keys} if keys else {}))
        cmd = [*KGLINK, "serve", "--graph", f"kg={folder}", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"kglink serve exited: {self.proc.stdout.read()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        self.stop()
        pytest.fail("kglink serve did not get ready in 120 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


@pytest.fixture(scope="module")
def server(explorer_graph, tmp_path_factory):
    """An open server (no keys) on a copy of the sample graph, shared by a module's tests."""
    srv = Server(_copy(explorer_graph, tmp_path_factory.mktemp("open") / "kg"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def key_server(explorer_graph, tmp_path_factory):
    """A server that needs the key ``secret`` (admin scope)."""
    srv = Server(_copy(explorer_graph, tmp_path_factory.mktemp("keyed") / "kg"), keys="secret:admin")
    yield srv
    srv.stop()


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Selenium through the system chromedriver (nothing downloaded)."""
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (kglink[browser])"
    )
    from selenium.webdriver.chrome.service import Service as DriverService

    binary = _chromium()
    if binary is None or not os.path.exists(CHROMEDRIVER):
        pytest.skip("no chromium or chromedriver here: apt-get install -y chromium chromium-driver")
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager fetch a driver
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1366,820",
        "--allow-file-access-from-files",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=DriverService(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
