"""`cinefeat monitor`, `cinefeat alerts` and `cinefeat score` on a repo whose second load
shifts one feature: the second check reports the drift, opens an alert and lowers the score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cinefeat import Entity, FeatureStore, FeatureView, Field
from cinefeat.types import Float64, Int64, String
from tests.cli.test_cli import ok
from tests.cli.test_drift_cli import DAY1, DAY2, rows

MOVIE = Entity("movie", ["movie_id"])
VIEW = FeatureView(
    "movie_stats",
    [MOVIE],
    [
        Field("movie_id", Int64),
        Field("popularity", Float64),
        Field("votes", Int64),
        Field("language", String),
    ],
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "cinefeat.yaml").write_text("project: mon\n")
    with FeatureStore(tmp_path) as store:
        store.apply([MOVIE, VIEW])
        store.write_offline("movie_stats", rows(DAY1, 5.0, 1))
    return tmp_path


def test_monitor_alerts_and_score(repo: Path) -> None:
    assert "no view has been checked yet" in ok("score", cwd=repo)
    first = json.loads(ok("monitor", "--json", cwd=repo))
    assert [c["rows"] for c in first["checks"]] == [3_000] and first["alerts"] == []
    assert json.loads(ok("score", "--json", cwd=repo))["overall"] == pytest.approx(100.0)

    with FeatureStore(repo) as store:
        store.write_offline("movie_stats", rows(DAY2, 6.0, 2))  # popularity +1 sd
    out = ok("monitor", cwd=repo)
    assert "popularity" in out and "firing: movie_stats drift" in out
    listed = json.loads(ok("alerts", "--json", cwd=repo))
    assert [(a["rule"], a["feature"], a["status"]) for a in listed] == [
        ("drift", "popularity", "firing")
    ]
    assert listed[0]["delivery"] == {"status": "no sink", "event": "firing"}
    scores = json.loads(ok("score", "--json", cwd=repo))
    components = scores["views"]["movie_stats"]["components"]
    assert components["stability"] == pytest.approx(2 / 3)  # 1 of 3 features drifted
    # No rules, no ttl: validity and freshness are left out and the weights rescaled.
    assert set(components) == {"completeness", "uniqueness", "stability"}
    assert scores["overall"] == pytest.approx(100 * (0.25 + 0.2 + 0.15 * 2 / 3) / 0.6)
    table = ok("alerts", cwd=repo)
    assert "drift" in table and "popularity" in table
    assert "no alerts" not in ok("alerts", "--all", cwd=repo)
