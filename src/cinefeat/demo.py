"""`make demo` / `python -m cinefeat.demo`: the main job on the embedded defaults, end to end.

Writes seeded synthetic raw data in the real sources' shapes (daily TMDB list-page crawls as
JSON Lines, MovieLens ratings CSVs), runs the repo's feature pipeline (pipeline.yaml: load with
quarantine, the movie feature groups and user_activity, checks, store), runs it again when one
more crawl arrives (only that crawl is processed), builds a point-in-time training set (with
the on-demand user_recency and user_movie features), materializes the latest values and
serves online lookups (the second from cache). Run as a program, it then serves the repo over
REST on 127.0.0.1:8001 (with a fresh API token for pushes), printing two `curl` examples, until
Ctrl-C.
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

from cinefeat.cli._pipeline import show_run
from cinefeat.cli._render import lookup_table, materialization_table
from cinefeat.cli._template import PIPELINE
from cinefeat.pipeline import Pipeline
from cinefeat.repo import load_repo
from cinefeat.sources.synthetic import WorldConfig, generate_world, write_world
from cinefeat.store import FeatureStore

__all__ = ["demo_requests", "run_demo", "serve_demo"]

CONFIG = """\
project: cinefeat_demo
registry: data/registry.db
offline_store: {path: data/offline}
online_store: {type: sqlite, path: data/online.db}
cache: {enabled: true, max_entries: 100000, ttl_seconds: 60}
"""

FEATURES = '''\
"""The demo repo's definitions: cinefeat's built-in movie-domain feature groups."""

from cinefeat.sources import MOVIE, USER, rating_events, tmdb_movies
from cinefeat.transforms import (
    movie_basic,
    movie_statistical,
    movie_temporal,
    movie_text,
    recommender_v1,
    user_activity,
    user_movie,
    user_recency,
)
'''


def _step(console: Console, title: str) -> float:
    console.rule(f"[bold cyan]{title}")
    return time.perf_counter()


def _took(console: Console, started: float) -> None:
    console.print(f"[dim]({time.perf_counter() - started:.2f} s)[/]")


def run_demo(
    repo: Path = Path("demo_repo"), console: Console | None = None, days: int = 45
) -> dict[str, Any]:
    """Run the demo in `repo` (replaced if it exists); returns the numbers it printed."""
    console = console or Console()
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    (repo / "cinefeat.yaml").write_text(CONFIG, encoding="utf-8")
    (repo / "features.py").write_text(FEATURES, encoding="utf-8")
    (repo / "pipeline.yaml").write_text(PIPELINE, encoding="utf-8")

    started = _step(console, f"1. Write {days} days of seeded raw data (TMDB crawls, ratings)")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    config = WorldConfig(
        movies=2_000, users=2_000, days=days, start=today - timedelta(days=days), seed=42
    )
    staging = repo / "data" / "incoming"
    files = write_world(generate_world(config), staging)
    raw = repo / "data" / "raw"
    (raw / "tmdb").mkdir(parents=True)
    shutil.copytree(staging / "movielens", raw / "movielens")
    *earlier, last_crawl = sorted(files["tmdb"])
    for crawl in earlier:  # the last day's crawl arrives later, in step 3
        shutil.copy(crawl, raw / "tmdb" / crawl.name)
    console.print(f"{len(files['tmdb'])} daily TMDB crawl files, MovieLens ratings/movies/links")
    _took(console, started)

    started = _step(console, "2. Run pipeline.yaml: load + quarantine, features, checks, store")
    store = FeatureStore(repo)
    console.print(str(store.apply(load_repo(repo).objects(), prune=True)))
    pipeline = Pipeline.from_file(repo / "pipeline.yaml", store)
    record = pipeline.run()
    show_run(record, console)
    _took(console, started)

    started = _step(console, "3. A new crawl arrives: the rerun processes only it")
    shutil.copy(last_crawl, raw / "tmdb" / last_crawl.name)
    console.print(pipeline.plan().describe().splitlines()[0])
    incremental = pipeline.run()
    show_run(incremental, console)
    console.print(pipeline.plan().describe().splitlines()[-1])
    _took(console, started)

    ratings = pl.from_arrow(store.read_offline("rating_events"))
    assert isinstance(ratings, pl.DataFrame)
    stages = {r.run_id: {s.name: s for s in r.stages} for r in (record, incremental)}
    loaded = [stages[r.run_id]["data_validation"] for r in (record, incremental)]
    frames: dict[str, Any] = {
        name: store.read_offline(name)
        for name in (
            "movie_basic",
            "movie_temporal",
            "movie_statistical",
            "movie_text",
            "user_activity",
        )
    }

    started = _step(console, "4. A point-in-time training set (labels: the ratings themselves)")
    labels = ratings.sample(n=min(50_000, ratings.height), seed=1).select(
        "user_id",
        "movie_id",
        "event_timestamp",
        pl.col("event_timestamp").alias("request_ts"),
        pl.col("rating").alias("label"),
    )
    job = store.get_historical_features(labels, "recommender_v1", full_feature_names=True)
    training = job.to_polars()
    console.print(training.select([*job.feature_names[:6], "label"]).head(5))
    filled = training.select(pl.col(job.feature_names).is_not_null().mean()).row(0)
    console.print(
        f"{training.height:,} rows x {len(job.feature_names)} features; at least one value "
        f"in {min(filled):.0%} to {max(filled):.0%} of rows per feature"
    )
    _took(console, started)

    started = _step(console, "5. Materialize the latest values into the online store")
    results = store.materialize_incremental(datetime.now(UTC), progress=True)
    console.print(materialization_table(results))
    _took(console, started)

    _step(console, "6. Online lookups (the second one is served from the cache)")
    pairs = ratings.select("user_id", "movie_id").head(2).to_dicts()
    rows = [{**pair, "request_ts": datetime.now(UTC)} for pair in pairs]
    rows.append(
        {"user_id": 99_999_999, "movie_id": pairs[0]["movie_id"], "request_ts": datetime.now(UTC)}
    )
    features = [
        "movie_basic:popularity",
        "movie_statistical:weighted_rating",
        "user_activity:rating_count_30d",
        "user_movie:genre_affinity",
        "user_movie:rating_bias",
        "user_recency:days_since_last_rating",
    ]
    for attempt in ("first", "second"):
        t0 = time.perf_counter()
        response = store.get_online_features(features, rows)
        micros = (time.perf_counter() - t0) * 1e6
        console.print(
            f"{attempt} lookup of {len(rows)} pairs x 3 views + 2 on-demand views: {micros:,.0f} µs"
        )
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

    started = _step(console, "7. Feature quality: the score of every view, alerts, a report")
    quality = _quality_summary(store, repo, console)
    _took(console, started)
    console.print(
        f"[green]Done.[/] The demo repo is in {repo.resolve()}; try "
        f"`cinefeat features list --repo {repo}`."
    )
    store.close()
    return {
        "read": {
            "all runs": (
                sum(s.rows_read for s in loaded),
                sum(s.rows_written for s in loaded),
                sum(s.rows_quarantined for s in loaded),
            )
        },
        "runs": [(r.status, len(r.inputs)) for r in (record, incremental)],
        "movies": store.read_offline("tmdb_movies").num_rows,
        "feature_rows": {name: table.num_rows for name, table in frames.items()},
        "training_rows": training.height,
        "training_fill": dict(zip(job.feature_names, filled, strict=True)),
        "materialized": {r.view: (r.rows_read, r.rows_written) for r in results},
        "lookup": response.to_dict(),
        "cache": stats,
        "quality": quality,
    }


def _quality_summary(store: FeatureStore, repo: Path, console: Console) -> dict[str, Any]:
    """What monitoring recorded after the pipeline runs and the materialization: each view's
    score and the firing alerts; and the HTML report of it all."""
    from cinefeat.cli._monitoring import latest_scores, score_table
    from cinefeat.cli._report import write_atomically
    from cinefeat.quality import list_alerts, overall_score, project_report

    scores = latest_scores(store)
    console.print(score_table(scores))
    firing = list_alerts(store.registry.quality_records(), status="firing")
    for alert in firing:
        console.print(f"[yellow]alert[/] {alert.view} {alert.rule}: {alert.message}")
    if not firing:
        console.print("[green]no firing alerts[/]")
    report = write_atomically(project_report(store), repo / "quality_report.html")
    console.print(f"HTML report (profiles, drift, monitoring history): {report.resolve()}")
    return {
        "report": str(report),
        "overall": overall_score([s for s, _ in scores]).score,
        "views": {s.view: s.score for s, _ in scores},
        "alerts": [(a.view, a.rule, a.feature) for a in firing],
    }


def _push_example(store: FeatureStore) -> tuple[str, dict[str, Any]]:
    """A push body that really fits: one stored row of the online view with the fewest
    columns, stamped now."""
    views = [v for v in store.list_feature_views() if v.online and v.source is None]
    view = min(views, key=lambda v: (len(v.schema), v.name))
    row = pl.from_arrow(store.read_offline(view).slice(0, 1))
    assert isinstance(row, pl.DataFrame)
    row = row.drop(view.created_column or "", strict=False)
    row = row.with_columns(pl.lit(datetime.now(UTC)).alias(view.event_timestamp_column))
    columns = {
        name: [value.isoformat() if isinstance(value, datetime) else value]
        for name, value in row.row(0, named=True).items()
    }
    return view.name, columns


def demo_requests(repo: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Bodies for /get-online-features and /push that fit the demo repo's data."""
    with FeatureStore(repo) as store:
        view, columns = _push_example(store)
        user_ids = store.read_offline("user_activity").column("user_id").to_pylist()
        movie_ids = store.read_offline("movie_basic").column("movie_id").to_pylist()
    users, movies = list(dict.fromkeys(user_ids))[:2], list(dict.fromkeys(movie_ids))[:2]
    read = {
        "features": ["user_activity:rating_count_30d", "movie_basic:popularity"],
        "entities": {"user_id": users, "movie_id": movies},
    }
    return read, {"feature_view": view, "to": "online", "df": columns}


def serve_demo(repo: Path, console: Console, port: int = 8001) -> None:
    """Serve the demo repo until Ctrl-C, after printing how to call it."""
    import json
    import os
    import secrets

    from cinefeat.server import API_TOKEN_ENV, serve

    token = os.environ.setdefault(API_TOKEN_ENV, secrets.token_urlsafe(16))
    read, push = demo_requests(repo)
    url = f"http://127.0.0.1:{port}"
    _step(console, f"8. Serving the repo over REST on {url} (Ctrl-C stops)")
    console.print("Online features (Feast's request and response shapes):", style="bold")
    console.print(
        f"curl -s {url}/get-online-features -H 'Content-Type: application/json' "
        f"-d '{json.dumps(read)}'",
        soft_wrap=True,
        highlight=False,
    )
    console.print(f"Push (writes need the token, {API_TOKEN_ENV}):", style="bold")
    console.print(
        f"curl -s {url}/push -H 'Content-Type: application/json' "
        f"-H 'Authorization: Bearer {token}' -d '{json.dumps(push)}'",
        soft_wrap=True,
        highlight=False,
    )
    console.print(f"Docs: {url}/docs · metrics: {url}/metrics", highlight=False)
    serve(repo, port=port, log_level="warning")


if __name__ == "__main__":
    demo_console = Console()
    run_demo(console=demo_console)
    serve_demo(Path("demo_repo"), demo_console)
