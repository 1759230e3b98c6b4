"""Benchmark 7: raw TMDB list-page JSON to every movie feature group, in the offline store.

A synthetic crawl (`write_world(generate_world(settings.tmdb_world))`: one JSON Lines file of
20-record list pages per day; 982,910 movie-snapshot records in the full run) is built once and
cached. Each run is a fresh process on a fresh, empty repo (`cinefeat.yaml`: `project: bench`)
that times, end to end: `load_tmdb(dir)` -> `store.apply(builtin_definitions())` ->
`store.ingest(result)` (raw rows to `tmdb_movies`, rejects to the quarantine table) ->
`movie_features(result.accepted)` -> `store.write_offline(group, rows)` for the four movie
groups. Throughput = records read / wall time of all of it.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks._data import Built, ensure_built
from benchmarks._report import Row, Section, at_least, fmt_bytes, fmt_seconds
from benchmarks._runner import (
    Context,
    CpuWatch,
    StageClock,
    median,
    peak_rss_bytes,
    run_interleaved,
)
from benchmarks._settings import DATA_DIR, settings_for

__all__ = ["build", "ensure_crawl", "measure_once", "run", "write_crawl"]

TARGET_RECORDS_PER_SECOND = 100_000
FORMAT = 1  # bump when the cached crawl's layout changes
CONFIG_YAML = "project: bench\n"
STAGES = ("load", "apply", "ingest", "features", "writes")
STAGE_CALLS = {
    "load": "load_tmdb",
    "apply": "apply",
    "ingest": "ingest",
    "features": "movie_features",
    "writes": "4 x write_offline",
}


def write_crawl(config: Any, out: Path) -> dict[str, Any]:
    """Generate a synthetic world and write its TMDB (and MovieLens) files under `out`."""
    from cinefeat.sources.synthetic import generate_world, write_world

    world = generate_world(config)
    files = write_world(world, out)["tmdb"]
    return {
        "world": repr(config),
        "records": world.snapshots.height,
        "movies": world.movies.height,
        "days": config.days,
        "files": len(files),
        "bytes": sum(path.stat().st_size for path in files),
    }


def build(args: dict[str, Any]) -> dict[str, Any]:
    """Worker side: the crawl of this run's settings."""
    return write_crawl(settings_for(args["settings"] == "quick").tmdb_world, Path(args["out"]))


def ensure_crawl(ctx: Context) -> Built:
    """The cached crawl for this run's settings (built first if needed)."""
    text = f"{FORMAT}|{ctx.settings.tmdb_world!r}"
    return ensure_built("tmdb-crawl", ctx.settings, text, "movies-build", ctx.console, ctx.rebuild)


def _fresh_repo(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    (path / "cinefeat.yaml").write_text(CONFIG_YAML)


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure_once(args: dict[str, Any]) -> dict[str, Any]:
    """Worker side: one timed end-to-end run into a fresh repo, stage by stage."""
    from cinefeat.sources import load_tmdb
    from cinefeat.store import FeatureStore
    from cinefeat.transforms import builtin_definitions, movie_features

    repo = Path(args["repo"])
    _fresh_repo(repo)
    store = FeatureStore(repo)
    definitions = builtin_definitions()
    clock = StageClock()
    writes: dict[str, dict[str, Any]] = {}
    with CpuWatch() as watch:
        clock.start("load")
        result = load_tmdb(args["crawl"])
        clock.mark("apply")
        store.apply(definitions)
        clock.mark("ingest")
        report = store.ingest(result)
        clock.mark("features")
        frames = movie_features(result.accepted)
        clock.mark("writes")
        for name, frame in frames.items():
            began = time.perf_counter()
            written = store.write_offline(name, frame)
            writes[name] = {
                "seconds": time.perf_counter() - began,
                "rows": written.rows,
                "columns": frame.width,
            }
        stages = clock.stop()
    store.close()
    return {
        **watch.to_dict(),
        "peak_rss_bytes": peak_rss_bytes(),
        "stages": stages,
        "writes": writes,
        "read": result.read,
        "accepted": result.accepted_count,
        "quarantined": result.quarantined_count,
        "raw_rows_written": report.written.rows,
        "offline_bytes": _tree_bytes(repo / "data"),
    }


def _stage_median(runs: list[dict[str, Any]], stage: str, key: str = "seconds") -> float:
    return median([next(s[key] for s in r["stages"] if s["stage"] == stage) for r in runs])


def _summary(runs: list[dict[str, Any]], records: int) -> dict[str, Any]:
    seconds = median([r["seconds"] for r in runs])
    return {
        "records": records,
        "seconds_median": seconds,
        "records_per_second": records / seconds,
        "cpu_seconds_median": median([r["cpu_seconds"] for r in runs]),
        "peak_rss_bytes_median": median([r["peak_rss_bytes"] for r in runs]),
        "stage_seconds_median": {stage: _stage_median(runs, stage) for stage in STAGES},
        "stage_peak_rss_so_far_median": {
            stage: _stage_median(runs, stage, "peak_rss_so_far_bytes") for stage in STAGES
        },
        "write_seconds_median": {
            name: median([r["writes"][name]["seconds"] for r in runs]) for name in runs[0]["writes"]
        },
        "runs": runs,
    }


def _rows(crawl: Built, data: dict[str, Any]) -> list[Row]:
    runs, meta = data["runs"], crawl.meta
    first = runs[0]
    records = first["read"]
    rate, seconds = data["records_per_second"], data["seconds_median"]
    runs_text = ", ".join(f"{r['seconds']:.2f}" for r in runs)
    stage_seconds = data["stage_seconds_median"]
    share = {stage: stage_seconds[stage] / seconds for stage in STAGES}
    breakdown = " · ".join(
        f"{STAGE_CALLS[stage]} {fmt_seconds(stage_seconds[stage])} ({share[stage]:.0%})"
        for stage in STAGES
    )
    peaks = data["stage_peak_rss_so_far_median"]
    growth = " · ".join(f"{stage} {fmt_bytes(peaks[stage])}" for stage in STAGES)
    writes = ", ".join(
        f"{name} {fmt_seconds(sec)} ({first['writes'][name]['columns']} cols)"
        for name, sec in data["write_seconds_median"].items()
    )
    what = (
        f"TMDB list-page JSON ({records:,} records, {meta['files']} files, "
        f"{meta['bytes'] / 1e6:,.0f} MB) -> load, ingest, 4 movie feature groups, write_offline"
    )
    written = {w["rows"] for w in first["writes"].values()}
    consistent = (
        first["read"] == first["accepted"] + first["quarantined"]
        and first["raw_rows_written"] == first["accepted"]
        and all(r["read"] == records for r in runs)
    )
    return [
        Row(
            f"{what}: throughput (end to end, fresh repo)",
            f">= {TARGET_RECORDS_PER_SECOND:,} records/s",
            f"{rate:,.0f} records/s ({fmt_seconds(seconds)}; runs {runs_text} s; "
            f"CPU {fmt_seconds(data['cpu_seconds_median'])})",
            at_least(rate, TARGET_RECORDS_PER_SECOND),
            "No Feast equivalent: Feast has no TMDB loader (nor movie feature transforms)",
        ),
        Row(
            "movies pipeline: time per stage (median of runs)",
            "-",
            breakdown,
            None,
            f"write_offline per group: {writes}",
        ),
        Row(
            "movies pipeline: read = accepted + quarantined, raw rows written, peak RSS",
            "raw = accepted",
            f"read {first['read']:,} = accepted {first['accepted']:,} + quarantined "
            f"{first['quarantined']:,}; tmdb_movies {first['raw_rows_written']:,} rows, each "
            f"group {', '.join(f'{n:,}' for n in sorted(written))} rows; peak "
            f"{fmt_bytes(data['peak_rss_bytes_median'])}",
            consistent,
            f"peak RSS after each stage: {growth}; offline store "
            f"{first['offline_bytes'] / 1e6:,.0f} MB",
        ),
    ]


def run(ctx: Context) -> Section:
    crawl = ensure_crawl(ctx)
    repo = DATA_DIR / f"movies-repo-{ctx.settings.name}"
    args = {"crawl": str(crawl.path / "tmdb"), "repo": str(repo)}
    try:
        runs = run_interleaved(
            ctx, "movies", "movies", {"movies": args}, ctx.settings.runs, warmup=True
        )["movies"]
    finally:
        shutil.rmtree(repo, ignore_errors=True)
    data = {"crawl": {"path": str(crawl.path), **crawl.meta}, **_summary(runs, runs[0]["read"])}
    return Section("movies", rows=_rows(crawl, data), data=data)
