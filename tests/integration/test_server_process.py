"""The server as users run it: `python -m cinefeat.server` and `cinefeat serve` in their own
processes on a free loopback port, real HTTP requests, and Ctrl-C (SIGINT) to stop."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import RAN_PUSH, populate

TOKEN = "integration-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    (path / "cinefeat.yaml").write_text("project: served\n")
    populate(path)
    return path


def start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CINEFEAT_API_TOKEN": TOKEN}
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture
def server(repo: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    port = free_port()
    flags = ["--repo", str(repo), "--port", str(port)]
    if request.param == "module":
        command = [sys.executable, "-m", "cinefeat.server", *flags]
    else:
        cli = shutil.which("cinefeat", path=str(Path(sys.executable).parent))
        assert cli is not None
        command = [cli, "serve", *flags, "--workers", "2"]
    log = tmp_path / "server.log"
    process = start(command, log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield url
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert process.wait(timeout=30) == 0, log.read_text()
        assert f"Uvicorn running on {url}" in log.read_text()  # loopback by default
        assert TOKEN not in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("server", ["module", "cli"], indirect=True)
def test_serving_over_real_http(server: str) -> None:
    with httpx.Client(base_url=server, timeout=10) as http:
        read = {"features": ["movie_stats:title"], "entities": {"movie_id": [100, 300]}}
        body = http.post("/get-online-features", json=read).json()
        assert body["results"][1]["values"] == ["Alien", None]
        push = RAN_PUSH
        assert http.post("/push", json=push).status_code == 401
        pushed = http.post("/push", json=push, headers={"Authorization": f"Bearer {TOKEN}"})
        assert pushed.status_code == 200, pushed.text
        # Every worker sees the push (each has its own cache; writes invalidate through the
        # online store's change counter).
        for _ in range(8):
            body = http.post("/get-online-features", json=read).json()
            assert body["results"][1]["values"] == ["Alien", "Ran"]
        assert "cinefeat_http_request_duration_seconds" in http.get("/metrics").text
        assert http.get("/openapi.json").json()["info"]["title"] == "cinefeat"
