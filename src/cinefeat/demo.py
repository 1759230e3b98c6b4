"""`make demo` / `python -m cinefeat.demo`: the main job on the embedded defaults, end to end.

Generates seeded rating events, turns them into daily user and movie statistics, registers the
repo's definitions, writes the features offline, builds a point-in-time training set,
materializes the latest values and serves a few online lookups (twice, to show the cache).
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from cinefeat.cli._render import lookup_table, materialization_table
from cinefeat.repo import load_repo
from cinefeat.sources import SyntheticConfig, generate_rating_events
from cinefeat.store import FeatureStore
from cinefeat.transforms import daily_movie_stats, daily_user_stats

__all__ = ["run_demo"]

CONFIG = """\
project: cinefeat_demo
registry: data/registry.db
offline_store: {path: data/offline}
online_store: {type: sqlite, path: data/online.db}
cache: {enabled: true, max_entries: 100000, ttl_seconds: 60}
"""

FEATURES = '''\
"""Definitions of the demo repo: daily rating statistics of users and movies."""

from datetime import timedelta

from cinefeat import Entity, FeatureService, FeatureView, Field
from cinefeat.types import Float64, Int64

user = Entity("user", join_keys=["user_id"], description="A person who rates movies")
movie = Entity("movie", join_keys=["movie_id"], description="A movie")


def _stats(key):
    return [
        Field(key, Int64),
        Field("rating_count", Int64, description="Ratings up to the end of the day"),
        Field("avg_rating", Float64, description="Mean rating up to the end of the day"),
        Field("ratings_1d", Int64, description="Ratings on the day"),
        Field("avg_rating_1d", Float64, description="Mean rating on the day"),
        Field("max_rating", Float64, description="Highest rating up to the end of the day"),
    ]


user_stats = FeatureView(
    "user_stats", [user], _stats("user_id"), ttl=timedelta(days=30),
    description="Daily rating activity per user", owner="demo@cinefeat.dev",
)
movie_stats = FeatureView(
    "movie_stats", [movie], _stats("movie_id"), ttl=timedelta(days=30),
    description="Daily rating activity per movie", owner="demo@cinefeat.dev",
)
rating_model_v1 = FeatureService(
    "rating_model_v1",
    [
        user_stats[["rating_count", "avg_rating", "ratings_1d"]],
        movie_stats[["rating_count", "avg_rating"]],
    ],
    description="Features of a rating-prediction model",
)
'''


def _step(console: Console, title: str) -> float:
    console.rule(f"[bold cyan]{title}")
    return time.perf_counter()


def _took(console: Console, started: float) -> None:
    console.print(f"[dim]({time.perf_counter() - started:.2f} s)[/]")


def run_demo(repo: Path = Path("demo_repo"), console: Console | None = None) -> dict[str, Any]:
    """Run the demo in `repo` (replaced if it exists); returns the numbers it printed."""
    console = console or Console()
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    (repo / "cinefeat.yaml").write_text(CONFIG, encoding="utf-8")
    (repo / "features.py").write_text(FEATURES, encoding="utf-8")

    started = _step(console, "1. Generate 90 days of seeded rating events")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    config = SyntheticConfig(
        n_users=2_000, n_movies=1_000, days=90, start=today - timedelta(days=90), seed=42
    )
    events = generate_rating_events(config)
    users, movies = daily_user_stats(events), daily_movie_stats(events)
    console.print(
        f"{events.height:,} rating events -> {users.height:,} daily user rows, "
        f"{movies.height:,} daily movie rows"
    )
    _took(console, started)

    started = _step(console, "2. Apply the repo's definitions (features.py)")
    store = FeatureStore(repo)
    diff = store.apply(load_repo(repo).objects(), prune=True)
    console.print(str(diff))
    _took(console, started)

    started = _step(console, "3. Write features to the offline store (one Delta commit each)")
    for name, frame in (("user_stats", users), ("movie_stats", movies)):
        result = store.write_offline(name, frame)
        console.print(f"{name}: {result.rows:,} rows -> Delta version {result.delta_version}")
    _took(console, started)

    started = _step(console, "4. Build a point-in-time-correct training set")
    labels = events.sample(n=200_000, seed=1).select(
        "user_id", "movie_id", "event_timestamp", pl.col("rating").alias("label")
    )
    job = store.get_historical_features(labels, "rating_model_v1", full_feature_names=True)
    training = job.to_polars()
    console.print(training.head(5))
    filled = training.select(pl.col(job.feature_names).is_not_null().mean()).row(0)
    console.print(
        f"{training.height:,} rows (one per label row, in order); share of rows with a value: "
        + ", ".join(f"{n} {v:.0%}" for n, v in zip(job.feature_names, filled, strict=True))
    )
    console.print(f"Delta versions read (pin them to rebuild exactly): {job.table_versions}")
    _took(console, started)

    started = _step(console, "5. Materialize the latest values into the online store")
    results = store.materialize_incremental(datetime.now(UTC), progress=True)
    console.print(materialization_table(results))
    again = store.materialize_incremental(datetime.now(UTC))
    console.print("Again, with nothing new: " + "; ".join(r.describe() for r in again))
    _took(console, started)

    _step(console, "6. Online lookups (the second one is served from the cache)")
    rows = [
        {"user_id": 1, "movie_id": 10},
        {"user_id": 2, "movie_id": 20},
        {"user_id": 99_999, "movie_id": 30},
    ]
    for attempt in ("first", "second"):
        t0 = time.perf_counter()
        response = store.get_online_features("rating_model_v1", rows, full_feature_names=True)
        micros = (time.perf_counter() - t0) * 1e6
        console.print(f"{attempt} lookup of {len(rows)} entities x 2 views: {micros:,.0f} µs")
    console.print(lookup_table(response))
    stats = store.get_cache_stats()
    table = Table(title="cache stats", title_justify="left")
    for key in ("hits", "misses", "hit_rate", "evictions", "size"):
        table.add_column(key)
    table.add_row(
        *(
            f"{stats[k]:.2f}" if k == "hit_rate" else str(stats[k])
            for k in ("hits", "misses", "hit_rate", "evictions", "size")
        )
    )
    console.print(table)
    console.print(
        f"[green]Done.[/] The demo repo is in {repo.resolve()}; try "
        f"`cinefeat features list --repo {repo}`."
    )
    store.close()
    return {
        "events": events.height,
        "training_rows": training.height,
        "training_fill": dict(zip(job.feature_names, filled, strict=True)),
        "materialized": {r.view: (r.rows_read, r.rows_written) for r in results},
        "lookup": response.to_dict(),
        "cache": stats,
    }


if __name__ == "__main__":
    run_demo()
