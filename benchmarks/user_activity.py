"""Benchmark 8: `user_activity_features(ratings, movies)` over 10M rating events: wall time and
the peak RSS of the process.

The events (`generate_rating_events(settings.activity_events)`: 10,012,439 in 2024 in the full
run) and the movies they reference (the catalogue of `generate_world` with as many movies,
re-keyed 1..n, one MOVIES_SCHEMA snapshot each, crawled the day before the first event) are
built once and cached as Parquet. Each run is a fresh process that reads both files (untimed),
then times the one call. Its peak RSS (`ru_maxrss`) includes the ~0.5 GB of libraries and
input frames present before the call, reported as "before the call".

One further, untimed run (which also warms the OS file cache) hooks into the aggregation
compiler's steps (`cinefeat.transforms.aggregate`) to time each step and sample the RSS every
20 ms: the breakdown row. It is not used for the medians.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks._data import Built, ensure_built
from benchmarks._report import GB, Row, Section, at_most, fmt_bytes, fmt_seconds
from benchmarks._runner import (
    Context,
    CpuWatch,
    StageClock,
    current_rss_bytes,
    median,
    peak_rss_bytes,
    run_interleaved,
    run_worker,
)
from benchmarks._settings import settings_for

__all__ = ["build", "ensure_events", "measure_once", "run"]

LIMIT_SECONDS = 30.0
LIMIT_GB = 6.0
FORMAT = 1  # bump when the cached files' layout changes
SAMPLE_SECONDS = 0.02

# The steps of aggregate_events, in order, as the breakdown run names them.
STAGES = {
    "events": "events table (DuckDB: ratings ASOF movie popularity, genres)",
    "partials": "daily and per-genre partials (DuckDB)",
    "running": "running totals (Polars)",
    "grid": "boundary grid, ASOF lookups (Polars)",
    "result": "result query in parts (DuckDB)",
    "finish": "to Polars, casts",
}


def _movies(events_config: Any, seed: int) -> Any:
    """One canonical snapshot per movie 1..n_movies, crawled the day before the events start:
    the catalogue of a generated world (TMDB genres, popularity), re-keyed by movie_id order."""
    import polars as pl

    from cinefeat.sources import MOVIES_SCHEMA
    from cinefeat.sources.synthetic import WorldConfig, generate_world

    n_movies = events_config.n_movies
    config = WorldConfig(
        movies=n_movies, users=1, days=1, start=events_config.start - timedelta(days=1), seed=seed
    )
    snapshots = generate_world(config).snapshots
    if snapshots.height != n_movies or snapshots["movie_id"].n_unique() != n_movies:
        raise RuntimeError(f"the world's first crawl has {snapshots.height} rows, not {n_movies}")
    rekeyed = snapshots.sort("movie_id").with_columns(
        pl.int_range(1, n_movies + 1, dtype=pl.Int64).alias("movie_id")
    )
    return rekeyed.select(list(MOVIES_SCHEMA)).cast(MOVIES_SCHEMA)


def build(args: dict[str, Any]) -> dict[str, Any]:
    """Worker side: generate the events and the movies, write both as Parquet."""
    from cinefeat.sources import generate_rating_events

    settings = settings_for(args["settings"] == "quick")
    config = settings.activity_events
    out = Path(args["out"])
    events = generate_rating_events(config)
    events.write_parquet(out / "ratings.parquet")
    movies = _movies(config, settings.activity_movies_seed)
    movies.write_parquet(out / "movies.parquet")
    first, last = events["event_timestamp"].min(), events["event_timestamp"].max()
    return {
        "events_config": repr(config),
        "movies_seed": settings.activity_movies_seed,
        "events": events.height,
        "users": events["user_id"].n_unique(),
        "movies": movies.height,
        "rated_movies": events["movie_id"].n_unique(),
        "days": config.days,
        "first_event": str(first),
        "last_event": str(last),
        "movie_snapshot": str(movies["snapshot_ts"].max()),
        "ratings_bytes": (out / "ratings.parquet").stat().st_size,
    }


def ensure_events(ctx: Context) -> Built:
    """The cached events and movies for this run's settings (built first if needed)."""
    settings = ctx.settings
    text = f"{FORMAT}|{settings.activity_events!r}|{settings.activity_movies_seed}"
    return ensure_built(
        "user-activity", settings, text, "user_activity-build", ctx.console, ctx.rebuild
    )


def _hook(clock: StageClock) -> None:
    """Mark the aggregation compiler's steps on `clock` (this process only). A step whose
    function no longer exists is merged into the one before it."""
    from cinefeat.transforms import aggregate

    def around(
        function: Callable[..., Any], enter: str | None, leave: str | None
    ) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if enter:
                clock.mark(enter)
            value = function(*args, **kwargs)
            if leave:
                clock.mark(leave)
            return value

        return wrapper

    compiled = getattr(aggregate, "CompiledAggregations", None)
    targets: list[tuple[Any, str, str | None, str | None]] = [
        (aggregate, "compile_aggregations", "partials", None),
        (compiled, "running_totals", "running", None),
        (compiled, "matched", "grid", "result"),
        (aggregate, "_run_in_parts", None, "finish"),
    ]
    for owner, name, enter, leave in targets:
        function = getattr(owner, name, None)
        if function is not None:
            setattr(owner, name, around(function, enter, leave))


def measure_once(args: dict[str, Any]) -> dict[str, Any]:
    """Worker side: read the Parquet files, then time one user_activity_features call."""
    import polars as pl

    from cinefeat.transforms import user_activity_features

    ratings = pl.read_parquet(args["ratings"])
    movies = pl.read_parquet(args["movies"])
    clock = StageClock(SAMPLE_SECONDS) if args.get("breakdown") else None
    if clock is not None:
        _hook(clock)
    gc.collect()
    rss_before, peak_before = current_rss_bytes(), peak_rss_bytes()
    with CpuWatch() as watch:
        if clock is not None:
            clock.start("events")
        rows = user_activity_features(ratings, movies)
    stages = clock.stop() if clock is not None else None
    peak = peak_rss_bytes()
    return {
        **watch.to_dict(),
        "peak_rss_bytes": peak,
        "rss_before_bytes": rss_before,
        "peak_rss_before_bytes": peak_before,
        "events": ratings.height,
        "movies": movies.height,
        "rows": rows.height,
        "columns": rows.width,
        "users_in": ratings["user_id"].n_unique(),
        "users_out": rows["user_id"].n_unique(),
        "output_bytes": rows.estimated_size(),
        **({"stages": stages} if stages is not None else {}),
    }


def _breakdown(run: dict[str, Any]) -> str:
    parts = []
    for stage in run["stages"]:
        label = STAGES.get(stage["stage"], stage["stage"])
        parts.append(
            f"{label}: {fmt_seconds(stage['seconds'])}, peak "
            f"{fmt_bytes(stage['sampled_peak_rss_bytes'])}"
        )
    return "\n".join(parts)


def _rows(built: Built, data: dict[str, Any]) -> list[Row]:
    runs, meta, probe = data["runs"], built.meta, data["breakdown"]
    first = runs[0]
    seconds, peak = data["seconds_median"], data["peak_rss_bytes_median"]
    runs_text = ", ".join(f"{r['seconds']:.2f}" for r in runs)
    what = (
        f"user_activity_features over {first['events']:,} rating events ({meta['users']:,} "
        f"users, {meta['rated_movies']:,} movies, {meta['days']} days)"
    )
    sizes = (
        f"input {first['events']:,} events + {first['movies']:,} movie snapshots; output "
        f"{first['rows']:,} rows x {first['columns']} columns"
    )
    same_users = all(r["users_out"] == r["users_in"] for r in runs)
    return [
        Row(
            f"{what}: wall time",
            f"<= {LIMIT_SECONDS:.0f} s",
            f"{fmt_seconds(seconds)} (runs {runs_text} s; CPU "
            f"{fmt_seconds(data['cpu_seconds_median'])})",
            at_most(seconds, LIMIT_SECONDS),
            f"hand-written alternatives are not comparable; {sizes}",
        ),
        Row(
            f"{what}: peak RSS",
            f"<= {LIMIT_GB:.0f} GB",
            f"{fmt_bytes(peak)} ({fmt_bytes(data['rss_before_bytes_median'])} before the call)",
            at_most(peak, LIMIT_GB * GB),
            f"the output frame alone: {fmt_bytes(first['output_bytes'])}; every user has rows: "
            + ("yes" if same_users else "[red]no[/]"),
        ),
        Row(
            "user_activity_features: where time and memory go (one separate, hooked run; RSS "
            f"sampled every {SAMPLE_SECONDS * 1e3:.0f} ms)",
            "-",
            _breakdown(probe),
            None,
            f"that run: {fmt_seconds(probe['seconds'])}, peak {fmt_bytes(probe['peak_rss_bytes'])}",
        ),
    ]


def run(ctx: Context) -> Section:
    built = ensure_events(ctx)
    args = {
        "ratings": str(built.path / "ratings.parquet"),
        "movies": str(built.path / "movies.parquet"),
    }
    with ctx.console.status("user_activity: breakdown run (also warms the file cache)"):
        probe = run_worker("user_activity", {**args, "breakdown": True})
    runs = run_interleaved(
        ctx, "user_activity", "user_activity", {"plain": args}, ctx.settings.runs, warmup=False
    )["plain"]
    data = {
        "data": {"path": str(built.path), **built.meta},
        "seconds_median": median([r["seconds"] for r in runs]),
        "cpu_seconds_median": median([r["cpu_seconds"] for r in runs]),
        "peak_rss_bytes_median": median([r["peak_rss_bytes"] for r in runs]),
        "rss_before_bytes_median": median([r["rss_before_bytes"] for r in runs]),
        "runs": runs,
        "breakdown": probe,
    }
    return Section("user_activity", rows=_rows(built, data), data=data)
