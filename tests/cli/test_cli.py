"""The whole CLI flow, as a user runs it, in a temporary directory (real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.helpers import SRC


def cinefeat(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "cinefeat", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(*args: str, cwd: Path) -> str:
    result = cinefeat(*args, cwd=cwd)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result.stdout


def test_whole_flow(tmp_path: Path) -> None:
    out = ok("init", "films", cwd=tmp_path)
    assert "Created an example repo" in out
    repo = tmp_path / "films"
    assert (repo / "cinefeat.yaml").exists() and (repo / "features.py").exists()

    plan = ok("plan", cwd=repo)
    assert "user_stats" in plan and "add" in plan
    applied = ok("apply", cwd=repo)
    assert "movie_ranking_v1" in applied
    assert "No changes" in ok("apply", cwd=repo)

    listing = ok("features", "list", cwd=repo)
    assert "user_stats" in listing and "movie_stats" in listing and "30d" in listing
    describe = ok("features", "describe", "user_stats", cwd=repo)
    assert "rating_count" in describe and "never materialized" in describe

    materialized = ok("materialize-incremental", "now", cwd=repo)
    assert "entities written" in materialized
    again = ok("materialize-incremental", "now", "--view", "user_stats", cwd=repo)
    assert "no new rows" in again or "up to date" in again
    ok("materialize", "2000-01-01", "now", "-v", "movie_stats", cwd=repo)

    lookup = ok(
        "get-online",
        "-f",
        "user_stats:rating_count",
        "-f",
        "movie_stats:avg_rating",
        "-e",
        "user_id=1,999999",
        "-e",
        "movie_id=2,3",
        cwd=repo,
    )
    assert "NOT_FOUND" in lookup  # user 999999
    sample = pl.read_parquet(repo / "data/sources/user_stats.parquet")
    latest = sample.filter(pl.col("user_id") == 1).sort("event_timestamp")["rating_count"][-1]
    row = next(line for line in lookup.splitlines() if line.startswith("│ rating_count "))
    assert f"│ {latest} " in row
    service = ok(
        "get-online",
        "-s",
        "movie_ranking_v1",
        "--full-names",
        "-e",
        "user_id=1",
        "-e",
        "movie_id=2",
        cwd=repo,
    )
    assert "user_stats__rating_count" in service

    # A breaking edit shows up in plan, and apply makes v2.
    features = repo / "features.py"
    features.write_text(
        features.read_text().replace(
            'Field("ratings_1d", Int64, description="Ratings given on this day")',
            'Field("ratings_1d", Float64, description="Ratings given on this day")',
        )
    )
    assert "BREAKING" in ok("plan", cwd=repo)
    assert "user_stats is now v2" in ok("apply", cwd=repo)
    assert "v1, v2" in ok("features", "describe", "user_stats", cwd=repo)


def test_write_offline_command(tmp_path: Path) -> None:
    import pandas as pd

    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "cinefeat.yaml").write_text("project: r\n")
    (repo / "defs.py").write_text(
        "from cinefeat import Entity, FeatureView, Field\n"
        "from cinefeat.types import Int64\n"
        "v = FeatureView('counts', [Entity('user', ['user_id'])], "
        "[Field('user_id', Int64), Field('n', Int64)])\n"
    )
    ok("apply", cwd=repo)
    frame = pd.DataFrame(
        {"user_id": [1], "n": [5], "event_timestamp": [pd.Timestamp("2024-01-01", tz="UTC")]}
    )
    frame.to_parquet(tmp_path / "rows.parquet")
    out = ok("write-offline", "counts", str(tmp_path / "rows.parquet"), cwd=repo)
    assert "wrote 1 rows to counts__v1 (Delta version 0)" in out
    bad = frame.assign(extra=1)
    bad.to_parquet(tmp_path / "bad.parquet")
    result = cinefeat("write-offline", "counts", str(tmp_path / "bad.parquet"), cwd=repo)
    assert result.returncode == 1 and "unexpected column 'extra'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["get-online", "-f", "nope:x", "-e", "user_id=1"], 1, "feature view 'nope'"),
        (["materialize", "yesterday", "now"], 2, "is not a time"),
        (["get-online", "-e", "user_id=1"], 2, "give --feature"),
        (["features", "describe", "ghost"], 1, "feature view 'ghost' is not in the registry"),
        (["write-offline", "user_stats", "nope.parquet"], 1, "nope.parquet"),
        (["datasets", "synth", "--start", "2024-01-01T05:00"], 1, "start must be a UTC midnight"),
    ],
)
def test_errors_are_messages_not_tracebacks(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    ok("init", "r", cwd=tmp_path)
    repo = tmp_path / "r"
    ok("apply", cwd=repo)
    result = cinefeat(*args, cwd=repo)
    assert result.returncode == code
    assert message in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_help_everywhere(tmp_path: Path) -> None:
    for args in ([], ["features"], ["materialize", "--help"], ["get-online", "--help"]):
        result = cinefeat(*args, "--help" if not args or args == ["features"] else "", cwd=tmp_path)
        assert "Usage" in result.stdout, args


def test_datasets_synth_and_load(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "cinefeat.yaml").write_text("project: r\n")
    out = ok(
        "datasets",
        "synth",
        "--out",
        "raw",
        "--movies",
        "200",
        "--users",
        "100",
        "--days",
        "5",
        cwd=repo,
    )
    assert "movie-snapshot records" in out
    (repo / "raw" / "tmdb" / "broken.json").write_text('{"page": 1, "results": [')
    loaded = ok("datasets", "load", "tmdb", "raw/tmdb", cwd=repo)
    assert "quarantined 1 (unreadable file" in loaded and "unreadable:" in loaded
    assert "tmdb_movies__v1" in loaded
    ratings = ok("datasets", "load", "movielens", "raw/movielens", cwd=repo)
    assert "ratings: read" in ratings and "rating_events__v1" in ratings
    listing = ok("features", "list", cwd=repo)
    assert "tmdb_movies" in listing and "rating_events" in listing
    dry = ok("datasets", "load", "tmdb", "raw/tmdb", "--dry-run", cwd=repo)
    assert "wrote" not in dry


def test_on_demand_views_are_listed_and_described(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "cinefeat.yaml").write_text("project: r\n")
    (repo / "features.py").write_text(
        "from cinefeat.transforms import movie_basic, movie_temporal, user_activity, user_movie\n"
    )
    ok("apply", cwd=repo)
    assert "on-demand user_movie: genre_affinity" in ok("features", "list", cwd=repo)
    described = ok("features", "describe", "user_movie", cwd=repo)
    assert "request data: request_ts" in described and "reads movie_temporal" in described
