"""Benchmarks 1 and 2: get_historical_features over 2 views (10 features, full names) for 1M and
100k entity rows, against the hand-written DuckDB ASOF join.

Each number is the median of fresh-process runs; in each process the store is opened and a
1,000-row query warms it up before the timed call, and the process's peak RSS is reported.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Any

from benchmarks._data import ensure_entities
from benchmarks._report import GB, Row, Section, at_most, fmt_bytes, fmt_seconds
from benchmarks._runner import (
    Context,
    CpuWatch,
    current_rss_bytes,
    median,
    peak_rss_bytes,
    run_interleaved,
    run_worker,
)
from benchmarks._settings import FEATURES

__all__ = ["check_agreement", "measure_once", "run"]

IMPLS = ("cinefeat", "duckdb")
OUTPUTS = ("arrow", "df")


def _runner(args: dict[str, Any]) -> Any:
    """A function entity_df -> result for the implementation and output named in args."""
    output = args["output"]
    if args["impl"] == "duckdb":
        from benchmarks.baseline import hand_written_join

        tables = args["tables"]
        return lambda frame: hand_written_join(frame, tables, output)
    from cinefeat.store import FeatureStore

    store = FeatureStore(args["repo"])

    def query(frame: Any) -> Any:
        job = store.get_historical_features(frame, list(FEATURES), full_feature_names=True)
        return job.to_arrow() if output == "arrow" else job.to_df()

    return query


def measure_once(args: dict[str, Any]) -> dict[str, Any]:
    """Worker side: one timed point-in-time join in this (fresh) process."""
    import pandas as pd

    entity_df = pd.read_parquet(args["entities"])
    query = _runner(args)
    query(entity_df.head(1_000))  # warm-up: imports, registry snapshot, DuckDB start-up
    gc.collect()
    rss_before = current_rss_bytes()
    with CpuWatch() as watch:
        result = query(entity_df)
    return {
        **watch.to_dict(),
        "peak_rss_bytes": peak_rss_bytes(),
        "rss_before_bytes": rss_before,
        "rows": len(result),
        "columns": len(result.columns) if hasattr(result, "columns") else result.num_columns,
    }


def check_agreement(args: dict[str, Any]) -> dict[str, Any]:
    """Worker side: cinefeat's result against the hand-written join, column by column."""
    import pandas as pd
    import pyarrow.compute as pc

    entity_df = pd.read_parquet(args["entities"])
    ours = _runner({**args, "impl": "cinefeat", "output": "arrow"})(entity_df)
    theirs = _runner({**args, "impl": "duckdb", "output": "arrow"})(entity_df)
    names = [ref.replace(":", "__") for ref in FEATURES]
    mismatched = [
        name
        for name in ["user_id", "movie_id", "event_timestamp", *names]
        if not ours.column(name).equals(theirs.column(name).cast(ours.schema.field(name).type))
    ]
    filled = {name: 1 - ours.column(name).null_count / max(ours.num_rows, 1) for name in names}
    return {
        "rows": ours.num_rows,
        "same_rows": ours.num_rows == theirs.num_rows,
        "mismatched_columns": mismatched,
        "non_null_share": filled,
        "avg_user_rating": pc.mean(ours.column("user_stats__avg_rating")).as_py(),
    }


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "seconds_median": median([r["seconds"] for r in runs]),
        "peak_rss_bytes_median": median([r["peak_rss_bytes"] for r in runs]),
        "rss_before_bytes_median": median([r["rss_before_bytes"] for r in runs]),
        "runs": runs,
    }


def _measure_size(ctx: Context, n_rows: int) -> dict[str, Any]:
    dataset = ctx.dataset
    path = ensure_entities(dataset, n_rows, ctx.settings.entity_seed)
    common = {"repo": str(dataset.repo), "entities": str(path), "tables": dataset.tables}
    variants = {
        f"{impl}_{output}": {**common, "impl": impl, "output": output}
        for impl in IMPLS
        for output in OUTPUTS
    }
    label = f"historical, {n_rows:,} entity rows"
    runs = run_interleaved(ctx, label, "historical", variants, ctx.settings.runs)
    return {name: _summary(results) for name, results in runs.items()}


@dataclass(frozen=True)
class Target:
    """One entity-row count's target and the issue's reference figures."""

    limit_seconds: float
    limit_gb: float | None
    feast_time: str
    feast_memory: str
    issue_duckdb_time: str
    issue_duckdb_memory: str


LARGE = Target(2.5, 1.5, "60-66 s", "12 GB", "1.5-1.8 s", "0.75 GB")
SMALL = Target(0.75, None, "7.6-8.5 s (DuckDB store), 42 s (file store)", "-", "0.70-0.78 s", "-")


def _runs_text(summary: dict[str, Any]) -> str:
    runs = summary["runs"]
    cpu = f"CPU {fmt_seconds(median([r['cpu_seconds'] for r in runs]))}"
    if len(runs) < 2:
        return f" ({cpu})"
    return " (runs " + ", ".join(f"{r['seconds']:.2f}" for r in runs) + f" s; {cpu})"


def _reference(feast: str, by_hand: str, issue_by_hand: str) -> str:
    lines = [f"Feast 0.67: {feast}"] if feast != "-" else []
    issue = f" (issue: {issue_by_hand})" if issue_by_hand != "-" else ""
    return "\n".join([*lines, f"DuckDB by hand: {by_hand}{issue}"])


def _rows_for(n_rows: int, data: dict[str, Any], target: Target) -> list[Row]:
    ours, base = data["cinefeat_arrow"], data["duckdb_arrow"]
    ours_df, base_df = data["cinefeat_df"], data["duckdb_df"]
    what = f"get_historical_features, {n_rows:,} entity rows x 2 views (10 features)"
    seconds, peak = ours["seconds_median"], ours["peak_rss_bytes_median"]
    limit_gb = target.limit_gb
    return [
        Row(
            f"{what}: .to_arrow() time",
            f"<= {target.limit_seconds} s",
            fmt_seconds(seconds) + _runs_text(ours),
            at_most(seconds, target.limit_seconds),
            _reference(
                target.feast_time,
                fmt_seconds(base["seconds_median"]) + _runs_text(base),
                target.issue_duckdb_time,
            ),
        ),
        Row(
            f"{what}: peak RSS",
            f"<= {limit_gb} GB" if limit_gb else "-",
            f"{fmt_bytes(peak)} ({fmt_bytes(ours['rss_before_bytes_median'])} before the query)",
            at_most(peak, limit_gb * GB) if limit_gb else None,
            _reference(
                target.feast_memory,
                fmt_bytes(base["peak_rss_bytes_median"]),
                target.issue_duckdb_memory,
            ),
        ),
        Row(
            f"{what}: .to_df() time",
            "-",
            f"{fmt_seconds(ours_df['seconds_median'])}, peak "
            f"{fmt_bytes(ours_df['peak_rss_bytes_median'])}",
            None,
            f"DuckDB by hand (.df()): {fmt_seconds(base_df['seconds_median'])}, peak "
            f"{fmt_bytes(base_df['peak_rss_bytes_median'])}",
        ),
    ]


def run(ctx: Context) -> Section:
    settings, dataset = ctx.settings, ctx.dataset
    section = Section("historical")
    large, small = settings.large_entity_rows, settings.small_entity_rows
    section.data["large"] = {"entity_rows": large, **_measure_size(ctx, large)}
    section.data["small"] = {"entity_rows": small, **_measure_size(ctx, small)}
    with ctx.console.status(
        f"historical: comparing results with the hand-written join ({small:,})"
    ):
        agree = run_worker(
            "historical-agree",
            {
                "repo": str(dataset.repo),
                "entities": str(ensure_entities(dataset, small, settings.entity_seed)),
                "tables": dataset.tables,
            },
        )
    section.data["agreement"] = agree
    section.rows += _rows_for(large, section.data["large"], LARGE)
    section.rows += _rows_for(small, section.data["small"], SMALL)
    identical = agree["same_rows"] and not agree["mismatched_columns"]
    section.rows.append(
        Row(
            f"historical result == hand-written DuckDB join ({agree['rows']:,} rows)",
            "identical",
            "identical" if identical else f"differs in {', '.join(agree['mismatched_columns'])}",
            identical,
            "share with a value: user "
            f"{agree['non_null_share']['user_stats__rating_count']:.0%}, movie "
            f"{agree['non_null_share']['movie_stats__rating_count']:.0%}",
        )
    )
    return section
