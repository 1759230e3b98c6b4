"""`cinefeat drift VIEW --reference ...` on a repo whose second load shifted one feature."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cinefeat import Entity, FeatureStore, FeatureView, Field
from cinefeat.types import Float64, Int64, String
from tests.cli.test_cli import cinefeat, ok

DAY1 = datetime(2024, 3, 1, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)


def rows(day: datetime, mean: float, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "movie_id": np.arange(3_000),
            "popularity": rng.normal(mean, 1.0, 3_000),
            "votes": rng.poisson(40, 3_000),
            "language": rng.choice(["en", "fr", "ja"], 3_000, p=[0.6, 0.3, 0.1]),
            "event_timestamp": [day] * 3_000,
        }
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    (path / "cinefeat.yaml").write_text("project: drift\n")
    movie = Entity("movie", ["movie_id"])
    view = FeatureView(
        "movie_stats",
        [movie],
        [
            Field("movie_id", Int64),
            Field("popularity", Float64),
            Field("votes", Int64),
            Field("language", String),
        ],
    )
    with FeatureStore(path) as store:
        store.apply([movie, view])
        store.write_offline("movie_stats", rows(DAY1, 5.0, 1))  # Delta version 0
        store.write_offline("movie_stats", rows(DAY2, 6.0, 2))  # popularity shifted by 1 sd
    return path


def test_drift_against_a_delta_version(repo: Path) -> None:
    out = ok("drift", "movie_stats", "--reference", "0", "--json", cwd=repo)
    report = json.loads(out)
    assert report["drifted_columns"] == ["popularity"]
    assert set(report["columns"]) == {"popularity", "votes", "language"}
    assert report["columns"]["language"]["test"] == "chi2"


def test_drift_between_time_ranges(repo: Path) -> None:
    out = ok(
        "drift", "movie_stats", "--reference", "..2024-03-02", "--current", "2024-03-02..",
        cwd=repo,
    )  # fmt: skip
    assert "3,000 reference rows vs 3,000 current rows" in out
    assert "drifted: popularity" in out
    same = ok("drift", "movie_stats", "--reference", "v0", "--current", "v0", cwd=repo)
    assert "no feature drifted" in same


def test_a_bad_sample_is_a_clean_error(repo: Path) -> None:
    result = cinefeat("drift", "movie_stats", "--reference", "yesterday", cwd=repo)
    assert result.returncode == 1
    assert "is not a sample" in result.stderr
    empty = cinefeat("drift", "movie_stats", "--reference", "2030-01-01..", cwd=repo)
    assert empty.returncode == 1 and "reference sample of movie_stats has no rows" in empty.stderr


def test_stats_profiles_the_stored_features(repo: Path) -> None:
    out = ok("stats", "movie_stats", "--sample", "latest", cwd=repo)
    assert "movie_stats: 6,000 rows stored (latest)" in out
    assert "language" in out and "en (" in out  # the most common language
    profile = json.loads(ok("stats", "movie_stats", "--sample", "v0", "--json", cwd=repo))
    assert profile["rows"] == 3_000
    assert set(profile["columns"]) == {"popularity", "votes", "language"}
    assert profile["columns"]["popularity"]["mean"] == pytest.approx(5.0, abs=0.1)
    assert profile["columns"]["language"]["distinct"] == 3


def test_stats_shows_the_profile_stored_with_each_commit(repo: Path) -> None:
    out = ok("stats", "movie_stats", cwd=repo)
    assert "3,000 rows written by the write that made Delta version 1 (view v1" in out
    newest = json.loads(ok("stats", "movie_stats", "--json", cwd=repo))
    first = json.loads(ok("stats", "movie_stats", "--commit", "0", "--json", cwd=repo))
    assert newest["columns"]["popularity"]["mean"] == pytest.approx(6.0, abs=0.1)
    assert first["columns"]["popularity"]["mean"] == pytest.approx(5.0, abs=0.1)
    # The stored profile covers the event time too.
    assert first["columns"]["event_timestamp"]["min"].startswith("2024-03-01")
    history = json.loads(ok("stats", "movie_stats", "--history", "--json", cwd=repo))
    assert [(h["delta_version"], h["operation"], h["rows"]) for h in history] == [
        (1, "write", 3_000),
        (0, "write", 3_000),
    ]
    missing = cinefeat("stats", "movie_stats", "--commit", "7", cwd=repo)
    assert missing.returncode == 1
    assert "no profile is stored for movie_stats v1 Delta version 7" in missing.stderr


def test_stats_commit_picks_the_table_of_a_view_version(repo: Path) -> None:
    movie = Entity("movie", ["movie_id"])
    changed = FeatureView(
        "movie_stats",
        [movie],
        [
            Field("movie_id", Int64),
            Field("popularity", Float64),
            Field("votes", Float64),  # was Int64: a breaking change, so a new version and table
            Field("language", String),
        ],
    )
    with FeatureStore(repo) as store:
        store.apply([movie, changed])
        store.write_offline("movie_stats", rows(DAY2, 9.0, 3).head(100))  # v2, Delta version 0
    current = json.loads(ok("stats", "movie_stats", "--commit", "0", "--json", cwd=repo))
    older = json.loads(
        ok("stats", "movie_stats", "--commit", "0", "--view-version", "1", "--json", cwd=repo)
    )
    assert (current["rows"], older["rows"]) == (100, 3_000)
