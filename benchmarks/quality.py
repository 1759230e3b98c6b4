"""Benchmark 11: feature quality. `profile_frame` on 1,000,000 rows x 50 features (target
5 s; also sampled, as every offline write profiles its rows), `detect_drift` between two such
frames, `FeatureValidator` with 10 rules (target 1M rows/s), in this process, medians of 3
calls after a warm-up call; and one monitoring check of a stored view whose new crawl has that
many rows (drift against the previous one included), and `feature_importance` on 100,000
labelled rows x 20 features. Features: 34 normal floats and 16 integers in [0, 1000), seeded."""

from __future__ import annotations

import time
from typing import Any

from benchmarks._report import Row, Section, at_least, at_most, fmt_seconds
from benchmarks._runner import Context, median

__all__ = ["run"]

SIZES = {"full": 1_000_000, "quick": 100_000}
FEATURES = 50


def _frame(rows: int, seed: int, shift: float = 0.0) -> Any:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            f"f{i}": rng.normal(shift, 1.0, rows) if i % 3 else rng.integers(0, 1000, rows)
            for i in range(FEATURES)
        }
    )


def _rules() -> list[Any]:
    """Ten rules over the frame's columns: nulls, ranges, allowed values, uniqueness."""
    from cinefeat.quality import AllowedValues, InRange, NotNull

    rules: list[Any] = [NotNull(f"f{i}") for i in (1, 2, 4, 5)]
    rules += [InRange(f"f{i}", -10.0, 10.0) for i in (1, 2, 4)]
    rules += [InRange("f0", 0, 999), AllowedValues("f3", tuple(range(1000)))]
    rules += [InRange("f6", 0, 999)]
    return rules


def _timed(call: Any) -> list[float]:
    call()  # warm-up
    seconds = []
    for _ in range(3):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


def run(ctx: Context) -> Section:
    from cinefeat.quality import FeatureValidator, detect_drift, profile_frame

    rows = SIZES[ctx.settings.name]
    with ctx.console.status("quality: building frames"):
        reference, current = _frame(rows, 1), _frame(rows, 2, shift=0.05)
    with ctx.console.status("quality: profile_frame"):
        profiling = _timed(lambda: profile_frame(reference))
    with ctx.console.status("quality: detect_drift"):
        drift = _timed(lambda: detect_drift(reference, current))
    with ctx.console.status("quality: profile_frame, sampled as on write"):
        sampled = _timed(lambda: profile_frame(reference, sample_rows=100_000))
    validator = FeatureValidator(_rules())
    with ctx.console.status("quality: FeatureValidator, 10 rules"):
        validation = _timed(lambda: validator.validate_features(reference))
    with ctx.console.status("quality: a monitoring check"):
        monitoring = _monitoring_check(reference, current)
    importance_rows = min(rows, 100_000)
    with ctx.console.status("quality: feature_importance"):
        importance = _importance(importance_rows)
    data = {
        "rows": rows,
        "profile": profiling,
        "profile_sampled": sampled,
        "drift": drift,
        "validation": validation,
        "monitoring": monitoring,
        "importance": importance,
    }
    section = Section("quality", data=data)
    runs = ", ".join(fmt_seconds(s) for s in profiling)
    section.rows += [
        Row(
            f"profile_frame, {rows:,} rows x {FEATURES} features",
            "<= 5 s",
            f"{fmt_seconds(median(profiling))} (runs {runs})",
            at_most(median(profiling), 5.0),
        ),
        Row(
            f"profile of a write of {rows:,} rows x {FEATURES} features",
            "-",
            fmt_seconds(median(sampled)),
            None,
            "exact counts and moments, shape from 100,000 rows",
        ),
        Row(
            f"detect_drift, two frames of {rows:,} rows x {FEATURES} features",
            "-",
            f"{fmt_seconds(median(drift))}",
            None,
            "KS + PSI per feature",
        ),
        Row(
            f"FeatureValidator, 10 rules, {rows:,} rows",
            ">= 1,000,000 rows/s",
            f"{rows / median(validation):,.0f} rows/s ({fmt_seconds(median(validation))})",
            at_least(rows / median(validation), 1_000_000),
            "pandera, Polars backend",
        ),
        Row(
            f"monitoring check of a new crawl of {rows:,} rows",
            "-",
            fmt_seconds(monitoring),
            None,
            "nulls, keys, freshness, rules, drift vs the previous crawl, score, alerts",
        ),
        Row(
            f"feature_importance, {importance_rows:,} labelled rows x 20 features, LightGBM",
            "-",
            fmt_seconds(median(importance)),
            None,
            "permutation (5 repeats), mutual information, gain; one thread",
        ),
    ]
    return section


def _importance(rows: int) -> list[float]:
    """Seconds of `feature_importance` on a label made of two planted features and noise."""
    import numpy as np
    import polars as pl

    from cinefeat.quality import feature_importance

    rng = np.random.default_rng(3)
    columns = {f"x{i}": rng.normal(size=rows) for i in range(20)}
    label = 3 * columns["x0"] + columns["x1"] + rng.normal(size=rows)
    frame = pl.DataFrame({**columns, "label": label})
    return _timed(lambda: feature_importance(frame, "label", time_column=None))


def _monitoring_check(reference: Any, current: Any) -> float:
    """Seconds of the second `monitor_views` on a stored view: its window is `current` (the new
    crawl), compared with `reference` (the crawl the first check saw)."""
    import tempfile
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    import polars as pl

    from cinefeat import Entity, FeatureStore, FeatureView, Field
    from cinefeat.quality import monitor_views
    from cinefeat.types import Float64, Int64

    entity = Entity("item", ["item_id"])
    schema = [Field("item_id", Int64)] + [
        Field(name, Int64 if dtype.is_integer() else Float64)
        for name, dtype in reference.schema.items()
    ]
    view = FeatureView("items", [entity], schema)
    day = datetime(2024, 3, 1, tzinfo=UTC)

    def crawl(frame: Any, when: datetime) -> Any:
        return frame.with_columns(
            pl.int_range(frame.height, dtype=pl.Int64).alias("item_id"),
            pl.lit(when).alias("event_timestamp"),
        )

    with tempfile.TemporaryDirectory() as folder:
        repo = Path(folder)
        (repo / "cinefeat.yaml").write_text("project: bench\nquality: {profile_on_write: false}\n")
        with FeatureStore(repo) as store:
            store.apply([entity, view])
            store.write_offline("items", crawl(reference, day))
            monitor_views(store, now=day)
            store.write_offline("items", crawl(current, day + timedelta(days=1)))
            started = time.perf_counter()
            monitor_views(store, now=day + timedelta(days=1))
            return time.perf_counter() - started
