"""Benchmark 3: store.materialize(start, end) over the whole year into a fresh SQLite online
store; throughput = all source rows of both views / wall time of the call.

Each run is a fresh process with its own new online-store file (the repo's registry is shared,
so the views' watermarks move; that does not affect an explicit-range materialize). The
monitoring check a store runs after each materialization (`quality.monitoring`) is switched
off here: its windows would advance in the shared registry and make runs unlike each other,
and `python -m benchmarks quality` measures it on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks._report import Row, Section, at_least, fmt_bytes, fmt_seconds
from benchmarks._runner import Context, CpuWatch, median, peak_rss_bytes, run_interleaved

__all__ = ["fresh_store", "measure_once", "run"]

TARGET_ROWS_PER_SECOND = 500_000


def fresh_store(repo: str, db: Path) -> Any:
    """A FeatureStore on `repo` whose online store is a new, empty SQLite file at `db`."""
    from cinefeat.config import (
        MonitoringConfig,
        QualityConfig,
        SqliteOnlineStoreConfig,
        load_config,
    )
    from cinefeat.store import FeatureStore

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    config = load_config(repo)
    quality = QualityConfig(monitoring=MonitoringConfig(after_materialize=False))
    config = config.model_copy(
        update={"online_store": SqliteOnlineStoreConfig(path=str(db)), "quality": quality}
    )
    return FeatureStore(repo, config=config)


def measure_once(args: dict[str, Any]) -> dict[str, Any]:
    """Worker side: one timed materialize of [start, end] into a fresh online store."""
    from datetime import datetime

    db = Path(args["repo"]) / "data" / "online-materialize-bench.db"
    store = fresh_store(args["repo"], db)
    store.list_feature_views()  # warm-up: registry snapshot
    start, end = datetime.fromisoformat(args["start"]), datetime.fromisoformat(args["end"])
    with CpuWatch() as watch:
        results = store.materialize(start, end)
    store.close()
    return {
        **watch.to_dict(),
        "peak_rss_bytes": peak_rss_bytes(),
        "rows_read": {r.view: r.rows_read for r in results},
        "rows_written": {r.view: r.rows_written for r in results},
        "online_db_bytes": sum(
            Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists()
        ),
    }


def run(ctx: Context) -> Section:
    dataset = ctx.dataset
    args = {
        "repo": str(dataset.repo),
        "start": dataset.start.isoformat(),
        "end": dataset.end.isoformat(),
    }
    variants = {"materialize": args}
    runs = run_interleaved(ctx, "materialize", "materialize", variants, ctx.settings.runs)[
        "materialize"
    ]
    total = dataset.total_rows
    seconds = median([r["seconds"] for r in runs])
    rate = total / seconds
    read = sum(runs[0]["rows_read"].values())
    written = sum(runs[0]["rows_written"].values())
    section = Section(
        "materialize",
        data={
            "source_rows": total,
            "seconds_median": seconds,
            "rows_per_second": rate,
            "peak_rss_bytes_median": median([r["peak_rss_bytes"] for r in runs]),
            "runs": runs,
        },
    )
    runs_text = ", ".join(f"{r['seconds']:.2f}" for r in runs)
    section.rows.append(
        Row(
            f"materialize {total:,} source rows (2 views, whole range) into a fresh SQLite store",
            f">= {TARGET_ROWS_PER_SECOND:,} rows/s",
            f"{rate:,.0f} rows/s ({fmt_seconds(seconds)}; runs {runs_text} s)",
            at_least(rate, TARGET_ROWS_PER_SECOND),
            "Feast 0.67: ~19 s for the whole materialize process",
        )
    )
    section.rows.append(
        Row(
            "materialize: rows read / entities written / peak RSS",
            f"read = {total:,}",
            f"read {read:,}, wrote {written:,}, peak "
            f"{fmt_bytes(section.data['peak_rss_bytes_median'])}",
            read == total,
            "",
        )
    )
    return section
