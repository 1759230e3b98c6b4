"""`make demo` runs end to end and its numbers add up."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from cinefeat.demo import demo_requests, run_demo
from cinefeat.server import create_app


def test_demo_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open(tmp_path / "out.txt", "w") as out:
        summary = run_demo(tmp_path / "demo_repo", Console(file=out, width=120), days=20)
    for read, accepted, quarantined in summary["read"].values():
        assert read == accepted + quarantined and accepted > 0
    rows = summary["feature_rows"]
    assert rows["movie_basic"] == rows["movie_text"] == summary["movies"]
    first, second = summary["runs"]
    assert first[0] == second[0] == "succeeded"
    assert second[1] == 1  # only the crawl that arrived later was processed
    assert rows["user_activity"] > 0
    assert summary["training_rows"] > 1_000  # every label row is kept
    assert all(0.5 < share <= 1.0 for share in summary["training_fill"].values())
    lookup = summary["lookup"]
    assert lookup["user_id"][2] == 99_999_999
    assert lookup["rating_count_30d"][2] is None  # an unknown user
    assert isinstance(lookup["genre_affinity"][0], float)
    cache = summary["cache"]
    assert cache["hits"] > 0 and cache["misses"] > 0
    quality = summary["quality"]
    # Monitoring ran after the pipeline runs: every feature view has a score.
    assert {"movie_basic", "user_activity", "tmdb_movies"} <= set(quality["views"])
    assert all(0 < score <= 100 for score in quality["views"].values())
    assert quality["overall"] == pytest.approx(
        sum(quality["views"].values()) / len(quality["views"])
    )
    page = Path(quality["report"]).read_text()
    assert "movie_basic" in page and "data:image/png;base64," in page
    text = (tmp_path / "out.txt").read_text()
    assert "quality score:" in text and "quality_report.html" in text
    assert "Done." in text and "NOT_FOUND" in text and "quarantined" in text
    # The two requests `make demo` prints before serving work against the served repo.
    read, push = demo_requests(tmp_path / "demo_repo")
    monkeypatch.setenv("CINEFEAT_API_TOKEN", "demo-token")
    with TestClient(create_app(tmp_path / "demo_repo")) as client:
        answer = client.post("/get-online-features", json=read)
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][2]["statuses"][0] == "PRESENT"
        assert client.post("/push", json=push).status_code == 401  # no token
        pushed = client.post("/push", json=push, headers={"Authorization": "Bearer demo-token"})
        assert pushed.status_code == 200, pushed.text
