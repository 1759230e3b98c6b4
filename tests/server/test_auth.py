"""Bearer tokens: writes always need one (none configured: refused, never open), reads only
when configured so; 401 without a token, 403 with a wrong one; the token is never shown."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cinefeat.config import load_config
from cinefeat.server import create_app
from tests.server.conftest import FRESH, RAN_PUSH, TOKEN, auth

PUSH = RAN_PUSH
READ = {"features": ["movie_stats:title"], "entities": {"movie_id": [100]}}
MATERIALIZE = {"end_ts": FRESH.isoformat()}


def test_writes_need_the_token(client: TestClient) -> None:
    for path, body in (("/push", PUSH), ("/materialize-incremental", MATERIALIZE)):
        missing = client.post(path, json=body)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert client.post(path, json=body, headers=auth("wrong")).status_code == 403
        assert client.post(path, json=body, headers={"Authorization": TOKEN}).status_code == 401
        assert client.post(path, json=body, headers=auth()).status_code == 200


def test_reads_are_open_by_default(client: TestClient) -> None:
    assert client.post("/get-online-features", json=READ).status_code == 200
    assert client.get("/api/v1/feature-views").status_code == 200


def test_without_a_configured_token_writes_are_refused(
    make_repo: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CINEFEAT_API_TOKEN", raising=False)
    with TestClient(create_app(make_repo(""))) as client:
        for headers in ({}, auth(), auth("anything")):
            response = client.post("/push", json=PUSH, headers=headers)
            assert response.status_code == 403
            assert "no API token is configured" in response.json()["detail"]
        assert client.post("/get-online-features", json=READ).status_code == 200


def test_the_environment_variable_gives_the_token(
    make_repo: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CINEFEAT_API_TOKEN", "from-env")
    with TestClient(create_app(make_repo(f"server: {{api_token: {TOKEN}}}\n"))) as client:
        assert client.post("/push", json=PUSH, headers=auth("from-env")).status_code == 200
        assert client.post("/push", json=PUSH, headers=auth(TOKEN)).status_code == 403


def test_reads_can_require_the_token(
    make_repo: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CINEFEAT_API_TOKEN", raising=False)
    repo = make_repo(f"server: {{api_token: {TOKEN}, auth_reads: true}}\n")
    with TestClient(create_app(repo)) as client:
        for method, path, body in (
            ("POST", "/get-online-features", READ),
            ("GET", "/api/v1/feature-views", None),
            ("GET", "/api/v1/cache/stats", None),
        ):
            assert client.request(method, path, json=body).status_code == 401
            assert client.request(method, path, json=body, headers=auth("x")).status_code == 403
            assert client.request(method, path, json=body, headers=auth()).status_code == 200
        assert client.get("/health").status_code == 200  # liveness stays open


def test_the_token_is_never_shown(
    client: TestClient, served: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.post("/push", json=PUSH, headers=auth("wrong"))
    client.post("/push", json=PUSH, headers=auth())
    config = load_config(served)
    assert TOKEN not in repr(config) and TOKEN not in str(config.server)
    assert TOKEN not in caplog.text
    assert TOKEN not in client.get("/metrics").text
    assert TOKEN not in client.get("/openapi.json").text
