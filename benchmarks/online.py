"""Benchmarks 4 and 5: get_online_features in process, 1 and 100 entities x 2 views (5 features
each), p50 and p99 per call, with the read cache hit and missed.

The online store read here is a fresh SQLite file loaded by `push` with each entity's latest
daily row, time-shifted so the data's last day ends today: the views' 30-day ttl is checked
against the wall clock, and the dataset's own dates (2024) would make every value
OUTSIDE_MAX_AGE. Misses are made two ways, both reported: a never-seen entity on every call,
and `store.cache.invalidate()` (untimed) before every call.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._report import Row, Section, at_most, fmt_seconds
from benchmarks._runner import Context, CpuWatch, percentile, run_worker
from benchmarks._settings import FEATURES

__all__ = ["measure", "run"]

Rows = list[dict[str, int]]


def _load_fresh_rows(store: Any, data_end: datetime) -> dict[str, int]:
    """Push every entity's latest row, shifted so that `data_end` becomes today's midnight."""
    import polars as pl

    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    shift = today - data_end
    pushed = {}
    for name, key in (("user_stats", "user_id"), ("movie_stats", "movie_id")):
        frame = pl.from_arrow(store.read_offline(name))
        assert isinstance(frame, pl.DataFrame)
        latest = (
            frame.sort("event_timestamp")
            .group_by(key)
            .last()
            .drop("created_timestamp")
            .with_columns(pl.col("event_timestamp") + shift)
        )
        store.push(name, latest, to="online")
        pushed[name] = latest.height
    return pushed


def _timed(call: Callable[[int], Any], n: int, before: Callable[[int], Any] | None) -> list[int]:
    """Nanoseconds per call; `before(i)` runs untimed ahead of each call."""
    clock = time.perf_counter_ns
    out = []
    gc.collect()
    for i in range(n):
        if before is not None:
            before(i)
        started = clock()
        call(i)
        out.append(clock() - started)
    return out


def _stats(nanos: list[int], store: Any, watch: CpuWatch) -> dict[str, Any]:
    ordered = sorted(n / 1e9 for n in nanos)
    cache = store.get_cache_stats()
    return {
        "other_cores": watch.other_cores,
        "calls": len(ordered),
        "p50_seconds": percentile(ordered, 50),
        "p99_seconds": percentile(ordered, 99),
        "mean_seconds": sum(ordered) / len(ordered),
        "max_seconds": ordered[-1],
        "cache_hits": cache["hits"],
        "cache_misses": cache["misses"],
    }


def measure(args: dict[str, Any]) -> dict[str, Any]:
    """Worker side: every online variant in this one process."""
    import numpy as np

    from benchmarks.materialize import fresh_store

    store = fresh_store(args["repo"], Path(args["repo"]) / "data" / "online-lookup-bench.db")
    pushed = _load_fresh_rows(store, datetime.fromisoformat(args["data_end"]))
    features = list(FEATURES)
    rng = np.random.default_rng(11)
    n_users, n_movies, calls = args["n_users"], args["n_movies"], args["calls"]

    def random_rows(n: int) -> Rows:
        users = rng.integers(1, n_users + 1, size=n).tolist()
        movies = rng.integers(1, n_movies + 1, size=n).tolist()
        return [{"user_id": u, "movie_id": m} for u, m in zip(users, movies, strict=True)]

    def lookup(rows: Rows) -> Any:
        return store.get_online_features(features, rows, full_feature_names=True)

    cache = store.cache
    assert cache is not None, "the benchmark repo enables the cache"
    for _ in range(200):  # warm-up: read plan, SQLite connection, code paths
        lookup(random_rows(1))
    results: dict[str, Any] = {"pushed": pushed, "cache": store.get_cache_stats()}

    def variant(name: str, batches: list[Rows], n: int, invalidate: bool, warm: bool) -> None:
        cache.invalidate()
        if warm:
            for batch in batches:
                lookup(batch)
        cache.reset_stats()
        before = (lambda _i: cache.invalidate()) if invalidate else None
        with CpuWatch() as watch:
            nanos = _timed(lambda i: lookup(batches[i % len(batches)]), n, before)
        results[name] = _stats(nanos, store, watch)

    # A never-seen entity on every call: distinct users and distinct movies.
    distinct = min(calls, n_users, n_movies)
    users = (rng.permutation(n_users) + 1)[:distinct].tolist()
    movies = (rng.permutation(n_movies) + 1)[:distinct].tolist()
    new_rows = [[{"user_id": u, "movie_id": m}] for u, m in zip(users, movies, strict=True)]
    variant("one_miss_new_entity", new_rows, distinct, invalidate=False, warm=False)
    singles = [random_rows(1) for _ in range(1_000)]
    variant("one_hit", singles, calls, invalidate=False, warm=True)
    variant("one_miss_invalidated", singles, calls, invalidate=True, warm=False)
    batches = [random_rows(args["batch_size"]) for _ in range(50)]
    variant("batch_hit", batches, args["batch_calls"], invalidate=False, warm=True)
    variant("batch_miss_invalidated", batches, args["batch_calls"], invalidate=True, warm=False)

    statuses: Counter[str] = Counter()
    for batch in batches:
        for column in lookup(batch).statuses.values():
            statuses.update(str(s) for s in column)
    total = sum(statuses.values())
    results["status_lookups"] = sum(len(batch) for batch in batches)
    results["statuses"] = {k: v / total for k, v in statuses.most_common()}
    return results


def _measured(stats: dict[str, Any]) -> str:
    return (
        f"p50 {fmt_seconds(stats['p50_seconds'])}, p99 {fmt_seconds(stats['p99_seconds'])} "
        f"({stats['calls']:,} calls, {stats['cache_hits']:,} cache hits, "
        f"{stats['cache_misses']:,} misses)"
    )


def run(ctx: Context) -> Section:
    settings, dataset = ctx.settings, ctx.dataset
    args = {
        "repo": str(dataset.repo),
        "data_end": (dataset.start + timedelta(days=dataset.days)).isoformat(),
        "n_users": dataset.meta["n_users"],
        "n_movies": dataset.meta["n_movies"],
        "calls": settings.online_calls,
        "batch_calls": settings.online_batch_calls,
        "batch_size": settings.online_batch_size,
    }
    with ctx.console.status("online: get_online_features latency"):
        data = run_worker("online", args)
    size = settings.online_batch_size
    feast_one = "Feast 0.67: p50 0.83 ms, p99 1.3 ms"
    feast_batch = "Feast 0.67: p50 28 ms, p99 40 ms"
    variants = [
        ("one_hit", "1 entity x 2 views, cache hit", 100e-6, feast_one),
        ("one_miss_new_entity", "1 entity x 2 views, cache miss (new entity each call)", 300e-6,
         feast_one),
        ("one_miss_invalidated", "1 entity x 2 views, cache miss (cache.invalidate() before "
         "each call, untimed)", 300e-6, feast_one),
        ("batch_hit", f"{size} entities x 2 views, cache hit", 3e-3, feast_batch),
        ("batch_miss_invalidated", f"{size} entities x 2 views, cache miss (cache.invalidate() "
         "before each call, untimed)", 3e-3, feast_batch),
    ]  # fmt: skip
    section = Section("online", data=data)
    for key, what, limit, reference in variants:
        stats = data[key]
        section.rows.append(
            Row(
                f"get_online_features, {what}",
                f"p50 <= {fmt_seconds(limit)}",
                _measured(stats),
                at_most(stats["p50_seconds"], limit),
                reference,
            )
        )
    shares = ", ".join(f"{k} {v:.1%}" for k, v in data["statuses"].items())
    section.rows.append(
        Row(
            f"online: statuses of the values served ({data['status_lookups']:,} entities)",
            "-",
            shares,
            None,
            "data time-shifted so its last day ends today (ttl 30 days is checked vs now)",
        )
    )
    return section
