"""Benchmark 9: YAML feature pipelines (`cinefeat.pipeline`) end to end: the parallel speedup of
2 workers over 1, threads vs processes, features per minute, and the incremental no-op rerun.

Throughput. A synthetic TMDB crawl (`write_world(generate_world(settings.pipeline_world))`: 100
daily JSON Lines files of 20-record list pages, 1,964,504 movie-snapshot records in the full
run; one partition per file) is built once and cached. Each run is a fresh process on a fresh,
empty repo (`cinefeat.yaml`: `project: bench`, plus a `pipeline.yaml` reading the crawl as its
one `movies` input: DataValidationStage -> FeatureExtractionStage (the four movie groups) ->
FeatureStoreWriteStage (materialize false)) that opens the store and loads the pipeline
untimed, then times one `Pipeline.run(progress=False)` call. Variants: processes with 1
worker, processes with 2 workers, threads, processes with 2 workers plus a
FeatureValidationStage before the store stage, and processes with 2 workers without the
feature-quality work on writes (no profile per commit, no monitoring after the run), which
measures what that work costs.

Where the time goes: an observer on the pipeline (`Pipeline.observers`: stage_started /
stage_finished, with each partition task's stats) and a wrapper around each stage class's
`run` (the whole-run step, in the parent; wrapped in the measuring process only, never in the
workers) split every stage into its partition phase (the process pool, or the parent in
"threads" mode) and its parent-only step, with the parent's CPU time, the tasks' CPU time
and the CPU time of the pool's processes (start-up included, from RUSAGE_CHILDREN).

No-op. A second crawl of 1,000 daily files (2 list pages each) and a repo whose pipeline has
already processed them all (that first run happens once, when the cache is built, and is
reported). Each run is a fresh process on a fresh copy of that repo that times
`FeatureStore(repo)`, `Pipeline.from_file` and `run()`, which must return "nothing_to_do";
a second variant also calls `plan()` before `run()`, to time planning alone. The whole
`cinefeat pipeline run` command (imports included) is timed as well.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._data import Built, ensure_built
from benchmarks._report import Row, Section, at_least, fmt_bytes, fmt_seconds
from benchmarks._runner import (
    Context,
    CpuWatch,
    StageClock,
    WorkerError,
    children_cpu_seconds,
    children_peak_rss_bytes,
    median,
    peak_rss_bytes,
    run_interleaved,
    run_worker,
)
from benchmarks._settings import DATA_DIR, settings_for
from benchmarks.movies import write_crawl

__all__ = [
    "build_crawl",
    "build_noop_crawl",
    "measure_noop",
    "measure_once",
    "prepare_noop_repo",
    "run",
]

TARGET_SPEEDUP = 1.7
TARGET_NOOP_SECONDS = 1.0
SEED_FEATURES_PER_MINUTE = 4_000  # the seed design's claim for its pipeline
FORMAT = 1  # bump when the cached crawls' layout changes
CONFIG_YAML = "project: bench\n"
# The same run without feature-quality work on writes (no profile per commit, no monitoring
# after the run), to measure what that work costs.
NO_QUALITY_YAML = (
    "project: bench\nquality: {profile_on_write: false, monitoring: {enabled: false}}\n"
)
MOVIE_GROUPS = ("movie_basic", "movie_temporal", "movie_statistical", "movie_text")

# name -> (mode, workers, with FeatureValidationStage); the first one also warms the file cache.
VARIANTS: dict[str, tuple[str, int, bool]] = {
    "processes-2": ("processes", 2, False),
    "processes-1": ("processes", 1, False),
    "threads": ("threads", 2, False),
    "processes-2-validation": ("processes", 2, True),
    "processes-2-no-quality": ("processes", 2, False),
}
LABELS = {
    "processes-2": "processes, 2 workers",
    "processes-1": "processes, 1 worker",
    "threads": "threads",
    "processes-2-validation": "processes, 2 workers, + FeatureValidationStage",
    "processes-2-no-quality": "processes, 2 workers, no profiles on write, no monitoring",
}
ONE_WORKER = (
    '"1 worker" = one single-threaded worker process (POLARS_MAX_THREADS=1, one DuckDB '
    "thread) runs every partition; the whole-run steps run in the parent on all cores, as "
    "with 2 workers"
)


def pipeline_yaml(crawl: Path, mode: str, workers: int, validation: bool) -> str:
    """The benchmark's pipeline: the crawl as the one `movies` input, no ratings."""
    groups = ", ".join(MOVIE_GROUPS)
    stages = [
        "{name: data_validation, type: DataValidationStage}",
        "{name: feature_extraction, type: FeatureExtractionStage, params: "
        f"{{groups: [{groups}]}}}}",
        *(["{name: feature_validation, type: FeatureValidationStage}"] if validation else []),
        "{name: store, type: FeatureStoreWriteStage, params: {materialize: false}}",
    ]
    return (
        "feature_pipeline:\n"
        "  name: bench\n"
        "  inputs:\n"
        f"    movies: {{loader: tmdb_json, path: '{crawl}'}}\n"
        "  stages:\n"
        + "".join(f"    - {stage}\n" for stage in stages)
        + f"  execution: {{workers: {workers}, mode: {mode}}}\n"
    )


# -- data --------------------------------------------------------------------------------------


def build_crawl(args: dict[str, Any]) -> dict[str, Any]:
    """Worker side: the throughput crawl (its TMDB files; the MovieLens ones are not read)."""
    return write_crawl(settings_for(args["settings"] == "quick").pipeline_world, Path(args["out"]))


def build_noop_crawl(args: dict[str, Any]) -> dict[str, Any]:
    """Worker side: the no-op benchmark's crawl of many small daily files."""
    return write_crawl(settings_for(args["settings"] == "quick").noop_world, Path(args["out"]))


def _ensure_crawl(ctx: Context, prefix: str, config: Any, task: str) -> Built:
    text = f"{FORMAT}|{config!r}"
    return ensure_built(prefix, ctx.settings, text, task, ctx.console, ctx.rebuild)


def _fresh_repo(path: Path, yaml_text: str, config: str = CONFIG_YAML) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    (path / "cinefeat.yaml").write_text(config)
    (path / "pipeline.yaml").write_text(yaml_text)


def prepare_noop_repo(args: dict[str, Any]) -> dict[str, Any]:
    """Worker side: a repo whose pipeline has processed every file of the no-op crawl."""
    from cinefeat.pipeline import Pipeline
    from cinefeat.store import FeatureStore

    repo = Path(args["out"])
    _fresh_repo(repo, args["yaml"])
    store = FeatureStore(repo)
    pipeline = Pipeline.from_file(repo / "pipeline.yaml", store)
    with CpuWatch(tree=True) as watch:
        record = pipeline.run(progress=False)
    store.close()
    if record.status != "succeeded":
        raise RuntimeError(f"the first run over the no-op crawl ended {record.status}")
    return {
        "first_run": watch.to_dict(),
        "files": len(record.inputs),
        "stages": [_stage_record(s) for s in record.stages],
        "yaml": args["yaml"],
    }


def _ensure_noop_repo(
    ctx: Context, crawl: Built, yaml_text: str, force: bool = False
) -> tuple[Path, dict[str, Any]]:
    """`<crawl>/repo`: prepared once (the first run over the crawl), reused while the pipeline
    file is the same. It must stay next to the crawl: the registry records the files' paths."""
    import json

    repo, meta_path = crawl.path / "repo", crawl.path / "repo" / "prepared.json"
    if meta_path.is_file() and not ctx.rebuild and not force:
        meta = json.loads(meta_path.read_text())
        if meta.get("yaml") == yaml_text:
            return repo, meta
    partial = repo.with_name("repo.partial")
    shutil.rmtree(partial, ignore_errors=True)
    with ctx.console.status(
        f"preparing the no-op repo: the first run over {crawl.meta['files']:,} files (once; cached)"
    ):
        meta = run_worker("pipeline-noop-prepare", {"out": str(partial), "yaml": yaml_text})
    (partial / "prepared.json").write_text(json.dumps(meta, indent=2))
    shutil.rmtree(repo, ignore_errors=True)
    partial.rename(repo)
    ctx.console.print(
        f"prepared {repo}: first run over {meta['files']:,} files in "
        f"{meta['first_run']['seconds']:.1f} s"
    )
    return repo, meta


# -- measuring ---------------------------------------------------------------------------------


def _stage_record(stage: Any) -> dict[str, Any]:
    return {
        "stage": stage.name,
        "type": stage.type,
        "seconds": stage.seconds,
        "rows_read": stage.rows_read,
        "rows_written": stage.rows_written,
        "rows_quarantined": stage.rows_quarantined,
        "partitions": stage.partitions_done,
    }


def _clocks() -> tuple[float, float, float]:
    return time.perf_counter(), time.process_time(), children_cpu_seconds()


class _Probe:
    """A pipeline observer that, with `hook`, splits each stage into its partition phase and
    its whole-run step: wall time, the parent's CPU, the pool processes' CPU and the tasks'."""

    def __init__(self) -> None:
        self.stages: dict[str, dict[str, Any]] = {}
        self._marks: dict[str, dict[str, tuple[float, float, float]]] = {}
        self.first_start: float | None = None
        self.last_end: float | None = None

    def hook(self, stages: list[Any]) -> None:
        """Wrap `run` of each stage class, in this process only (workers import the classes
        afresh; the parent alone calls `run`)."""
        for cls in {type(stage) for stage in stages}:
            original = cls.run
            if getattr(original, "_bench_probe", None) is self:
                continue

            def wrapped(stage: Any, context: Any, _original: Callable[..., Any] = original) -> Any:
                self._marks[stage.name]["step_start"] = _clocks()
                try:
                    return _original(stage, context)
                finally:
                    self._marks[stage.name]["step_end"] = _clocks()

            wrapped._bench_probe = self  # type: ignore[attr-defined]
            cls.run = wrapped

    def stage_started(self, name: str) -> None:
        now = _clocks()
        self._marks[name] = {"start": now}
        if self.first_start is None:
            self.first_start = now[0]

    def stage_finished(self, name: str, record: Any, worker_stats: list[dict[str, Any]]) -> None:
        end = _clocks()
        self.last_end = end[0]
        marks = self._marks[name]
        start = marks["start"]
        step_start, step_end = marks.get("step_start", end), marks.get("step_end", end)
        self.stages[name] = {
            "seconds": end[0] - start[0],
            "partition_seconds": step_start[0] - start[0],
            "step_seconds": step_end[0] - step_start[0],
            "parent_cpu_partition_seconds": step_start[1] - start[1],
            "parent_cpu_step_seconds": step_end[1] - step_start[1],
            "pool_cpu_seconds": end[2] - start[2],  # pool processes, start-up included
            "tasks": len(worker_stats),
            "task_seconds": sum(s["seconds"] for s in worker_stats),
            "task_cpu_seconds": sum(s["cpu_seconds"] for s in worker_stats),
            "task_peak_rss_bytes": max((s["peak_rss"] for s in worker_stats), default=0),
            "processes": len({s["pid"] for s in worker_stats}),
        }


def _cinefeat_path() -> str:
    """Where the measured cinefeat was imported from (normally this checkout's src/)."""
    import cinefeat

    return str(Path(cinefeat.__file__).parent)


def measure_once(args: dict[str, Any]) -> dict[str, Any]:
    """Worker side: one timed Pipeline.run() on a fresh repo, stage by stage."""
    from cinefeat.pipeline import Pipeline
    from cinefeat.store import FeatureStore

    repo = Path(args["repo"])
    yaml_text = pipeline_yaml(
        Path(args["crawl"]), args["mode"], args["workers"], args["validation"]
    )
    _fresh_repo(repo, yaml_text, NO_QUALITY_YAML if args.get("no_quality") else CONFIG_YAML)
    try:
        store = FeatureStore(repo)
        pipeline = Pipeline.from_file(repo / "pipeline.yaml", store)
        probe = _Probe()
        probe.hook(pipeline.stages)
        pipeline.observers.append(probe)
        with CpuWatch(tree=True) as watch:
            began = time.perf_counter()
            record = pipeline.run(progress=False)
            ended = time.perf_counter()
        features = {
            o.view: {"rows": o.rows, "columns": len(store.get_feature_view(o.view).features)}
            for o in record.outputs
            if o.view in MOVIE_GROUPS
        }
        store.close()
        offline = sum(p.stat().st_size for p in (repo / "data").rglob("*") if p.is_file())
    finally:
        shutil.rmtree(repo, ignore_errors=True)
    validation = record.stage("data_validation")
    return {
        **watch.to_dict(),
        "status": record.status,
        "records": validation.rows_read,
        "accepted": validation.rows_written,
        "quarantined": validation.rows_quarantined,
        "record_stages": [_stage_record(s) for s in record.stages],
        "stages": probe.stages,
        "before_stages_seconds": (probe.first_start or ended) - began,
        "after_stages_seconds": ended - (probe.last_end or ended),
        "features": features,
        "feature_values": sum(f["rows"] * f["columns"] for f in features.values()),
        "raw_rows_written": next((o.rows for o in record.outputs if o.view == "tmdb_movies"), 0),
        "peak_rss_bytes": peak_rss_bytes(),
        "workers_peak_rss_bytes": children_peak_rss_bytes(),
        "offline_bytes": offline,
        "cinefeat_path": _cinefeat_path(),
    }


def measure_noop(args: dict[str, Any]) -> dict[str, Any]:
    """Worker side: a fresh copy of the prepared repo (untimed), then the timed no-op rerun."""
    began = time.perf_counter()
    from cinefeat.pipeline import Pipeline
    from cinefeat.store import FeatureStore

    imports = time.perf_counter() - began
    repo = Path(args["repo"])
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(args["prepared"], repo)
    clock = StageClock()
    plan = None
    with CpuWatch() as watch:
        clock.start("store")
        store = FeatureStore(repo)
        clock.mark("pipeline")
        pipeline = Pipeline.from_file(repo / "pipeline.yaml", store)
        if args["plan"]:
            clock.mark("plan")
            plan = pipeline.plan()
        clock.mark("run")
        record = pipeline.run(progress=False)
        stages = clock.stop()
    store.close()
    shutil.rmtree(repo, ignore_errors=True)
    return {
        **watch.to_dict(),
        "import_seconds": imports,
        "steps": {s["stage"]: s["seconds"] for s in stages},
        "status": record.status,
        "skipped": len(record.skipped),
        "planned_partitions": None if plan is None else len(plan.process),
    }


# -- the benchmark ------------------------------------------------------------------------------


def _med(runs: list[dict[str, Any]], get: Callable[[dict[str, Any]], float]) -> float:
    return median([get(r) for r in runs])


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    first = runs[0]
    seconds = _med(runs, lambda r: r["seconds"])
    names = [s["stage"] for s in first["record_stages"]]
    stages = {
        name: {
            key: _med(runs, lambda r, n=name, k=key: r["stages"][n][k])
            for key in first["stages"][name]
        }
        | {
            "record_seconds": _med(
                runs,
                lambda r, n=name: next(s for s in r["record_stages"] if s["stage"] == n)["seconds"],
            )
        }
        for name in names
    }
    partition = sum(s["partition_seconds"] for s in stages.values())
    return {
        "seconds_median": seconds,
        "records_per_second": first["records"] / seconds,
        "cpu_seconds_median": _med(runs, lambda r: r["cpu_seconds"]),
        "peak_rss_bytes_median": _med(runs, lambda r: r["peak_rss_bytes"]),
        "workers_peak_rss_bytes_median": _med(runs, lambda r: r["workers_peak_rss_bytes"]),
        "stages_median": stages,
        "before_stages_seconds_median": _med(runs, lambda r: r["before_stages_seconds"]),
        "after_stages_seconds_median": _med(runs, lambda r: r["after_stages_seconds"]),
        # The partition phases (parallel with N workers) and everything else (the parent only).
        "partition_seconds": partition,
        "parent_only_seconds": seconds - partition,
        "features_per_minute": first["feature_values"] / seconds * 60,
        "runs": runs,
    }


def _signed(seconds: float) -> str:
    return ("+" if seconds >= 0 else "-") + fmt_seconds(abs(seconds))


def _runs_text(runs: list[dict[str, Any]]) -> str:
    return ", ".join(f"{r['seconds']:.2f}" for r in runs)


def _breakdown(data: dict[str, Any]) -> str:
    parts = [f"plan (fingerprints) + start {fmt_seconds(data['before_stages_seconds_median'])}"]
    for name, stage in data["stages_median"].items():
        if stage["tasks"]:
            parts.append(
                f"{name} {fmt_seconds(stage['record_seconds'])} = partitions "
                f"{fmt_seconds(stage['partition_seconds'])} + parent step "
                f"{fmt_seconds(stage['step_seconds'])}"
            )
        else:
            parts.append(f"{name} {fmt_seconds(stage['record_seconds'])} (parent step only)")
    parts.append(f"finish {fmt_seconds(data['after_stages_seconds_median'])}")
    return "\n".join(parts)


def _cpu_text(data: dict[str, Any], mode: str) -> str:
    stages = data["stages_median"].values()
    partition = sum(s["partition_seconds"] for s in stages)
    tasks = sum(s["task_cpu_seconds"] for s in stages)
    pool = sum(s["pool_cpu_seconds"] for s in stages)
    parent_partition = sum(s["parent_cpu_partition_seconds"] for s in stages)
    parent_steps = sum(s["parent_cpu_step_seconds"] for s in stages)
    steps = sum(s["step_seconds"] for s in stages)
    if mode == "threads":
        return (
            f"CPU: partition phases {fmt_seconds(parent_partition)} in "
            f"{fmt_seconds(partition)} ({parent_partition / partition:.2f} cores busy); parent "
            f"steps {fmt_seconds(parent_steps)} in {fmt_seconds(steps)} "
            f"({parent_steps / steps:.2f} cores)"
        )
    return (
        f"CPU: partition tasks {fmt_seconds(tasks)} + pool start-up and IPC "
        f"{fmt_seconds(max(pool - tasks, 0.0))} in {fmt_seconds(partition)} of partition phases "
        f"({pool / partition:.2f} cores busy; parent {fmt_seconds(parent_partition)}); parent "
        f"steps {fmt_seconds(parent_steps)} in {fmt_seconds(steps)} ({parent_steps / steps:.2f} "
        "cores)"
    )


def _throughput_rows(crawl: Built, data: dict[str, dict[str, Any]]) -> list[Row]:
    meta = crawl.meta
    one, two, threads = data["processes-1"], data["processes-2"], data["threads"]
    validated = data["processes-2-validation"]
    first = two["runs"][0]
    records = first["records"]
    what = (
        f"Pipeline.run() on {records:,} movie records ({meta['files']} daily TMDB files, "
        f"{meta['bytes'] / 1e6:,.0f} MB) -> 4 movie feature groups, fresh repo"
    )
    rows = []
    for name, reference in (
        ("processes-1", ONE_WORKER),
        ("processes-2", "2 single-threaded worker processes; the whole-run steps as above"),
    ):
        d = data[name]
        rows.append(
            Row(
                f"{what}: {LABELS[name]}",
                "-",
                f"{fmt_seconds(d['seconds_median'])} (runs {_runs_text(d['runs'])} s), "
                f"{d['records_per_second']:,.0f} records/s; CPU "
                f"{fmt_seconds(d['cpu_seconds_median'])} (parent + workers)",
                None,
                reference,
            )
        )
    speedup = one["seconds_median"] / two["seconds_median"]
    part_speedup = one["partition_seconds"] / two["partition_seconds"]
    parent = two["parent_only_seconds"]
    limit = (one["parent_only_seconds"] + one["partition_seconds"]) / (
        one["parent_only_seconds"] + one["partition_seconds"] / 2
    )
    rows.append(
        Row(
            "Parallel speedup, 2 workers over 1 worker (wall time of Pipeline.run())",
            f">= {TARGET_SPEEDUP}x",
            f"{speedup:.2f}x ({fmt_seconds(one['seconds_median'])} -> "
            f"{fmt_seconds(two['seconds_median'])}); partition phases alone "
            f"{part_speedup:.2f}x ({fmt_seconds(one['partition_seconds'])} -> "
            f"{fmt_seconds(two['partition_seconds'])})",
            at_least(speedup, TARGET_SPEEDUP),
            f"parent-only part (plan, whole-run steps, bookkeeping): "
            f"{fmt_seconds(one['parent_only_seconds'])} (1 worker), {fmt_seconds(parent)} "
            f"(2 workers); with it, even a perfect 2x on the partitions gives {limit:.2f}x",
        )
    )
    rows.append(
        Row(
            f"{what}: threads mode",
            "-",
            f"{fmt_seconds(threads['seconds_median'])} (runs {_runs_text(threads['runs'])} s), "
            f"{threads['records_per_second']:,.0f} records/s; "
            f"{threads['seconds_median'] / two['seconds_median']:.2f}x the time of processes "
            f"with 2 workers, {threads['seconds_median'] / one['seconds_median']:.2f}x that of 1",
            None,
            "threads: the partitions one after another in the parent, Polars and DuckDB on all "
            "cores",
        )
    )
    for name, mode in (
        ("processes-1", "processes"),
        ("processes-2", "processes"),
        ("threads", "threads"),
    ):
        rows.append(
            Row(
                f"where the time goes, {LABELS[name]} (run record's stage seconds, medians)",
                "-",
                _breakdown(data[name]),
                None,
                _cpu_text(data[name], mode),
            )
        )
    check = validated["stages_median"].get("feature_validation", {})
    rows.append(
        Row(
            f"{what}: {LABELS['processes-2-validation']}",
            "-",
            f"{fmt_seconds(validated['seconds_median'])} (runs "
            f"{_runs_text(validated['runs'])} s), {validated['records_per_second']:,.0f} "
            f"records/s; feature_validation stage "
            f"{fmt_seconds(check.get('record_seconds', 0.0))}",
            None,
            f"{_signed(validated['seconds_median'] - two['seconds_median'])} vs the same run "
            "without it; FeatureValidationStage has no partition work: it checks every "
            "feature row in the parent",
        )
    )
    bare = data["processes-2-no-quality"]
    rows.append(
        Row(
            f"{what}: feature quality on writes",
            "-",
            f"{_signed(two['seconds_median'] - bare['seconds_median'])} "
            f"({fmt_seconds(two['seconds_median'])} vs {fmt_seconds(bare['seconds_median'])} "
            f"with {LABELS['processes-2-no-quality']})",
            None,
            "a profile stored with every commit (exact counts and moments, shape from 100,000 "
            "rows) and the monitoring check of each written view after the run",
        )
    )
    values = first["feature_values"]
    columns = sum(f["columns"] for f in first["features"].values())
    rate = two["features_per_minute"]
    rows.append(
        Row(
            "Features/min: feature values written (rows x feature columns, summed over the "
            "views) per minute of Pipeline.run(), processes, 2 workers",
            f">= {SEED_FEATURES_PER_MINUTE:,} features/min",
            f"{rate:,.0f} features/min ({values / 1e6:,.1f}M values = {records:,} rows x "
            f"{columns} feature columns over {len(first['features'])} views, in "
            f"{fmt_seconds(two['seconds_median'])}); {two['records_per_second']:,.0f} movie "
            "records/s",
            at_least(rate, SEED_FEATURES_PER_MINUTE),
            f"the seed design claimed {SEED_FEATURES_PER_MINUTE:,} features/min for its "
            f"pipeline: ours is {rate / SEED_FEATURES_PER_MINUTE:,.0f}x that",
        )
    )
    every = [r for d in data.values() for r in d["runs"]]
    consistent = all(
        r["status"] == "succeeded"
        and r["records"] == records
        and r["records"] == r["accepted"] + r["quarantined"]
        and r["raw_rows_written"] == r["accepted"]
        and all(f["rows"] == r["accepted"] for f in r["features"].values())
        and len(r["features"]) == len(MOVIE_GROUPS)
        for r in every
    )
    rows.append(
        Row(
            "pipeline: every run succeeded; read = accepted + quarantined; tmdb_movies and each "
            "feature view got every accepted row; peak RSS (2 workers)",
            "rows = accepted",
            f"read {records:,} = accepted {first['accepted']:,} + quarantined "
            f"{first['quarantined']:,} in all {len(every)} runs; each view "
            f"{first['accepted']:,} rows; peak RSS parent "
            f"{fmt_bytes(two['peak_rss_bytes_median'])}, a worker "
            f"{fmt_bytes(two['workers_peak_rss_bytes_median'])}",
            consistent,
            f"peak RSS 1 worker: parent {fmt_bytes(one['peak_rss_bytes_median'])}, worker "
            f"{fmt_bytes(one['workers_peak_rss_bytes_median'])}; threads "
            f"{fmt_bytes(threads['peak_rss_bytes_median'])}; offline store "
            f"{first['offline_bytes'] / 1e6:,.0f} MB",
        )
    )
    return rows


def _cinefeat_command() -> list[str]:
    script = Path(sys.executable).parent / "cinefeat"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "cinefeat"]


def _cli_noop(prepared: Path, scratch: Path, runs: int) -> dict[str, Any]:
    """Whole-process `cinefeat pipeline run` on a fresh copy of the prepared repo each time
    (after one untimed warm-up run)."""
    seconds, output = [], ""
    for i in range(runs + 1):
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.copytree(prepared, scratch)
        command = [
            *_cinefeat_command(),
            "pipeline",
            "run",
            str(scratch / "pipeline.yaml"),
            "--repo",
            str(scratch),
        ]
        with CpuWatch(children=True) as watch:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise WorkerError(f"{command} failed: {done.stderr[-2000:]}")
        if i:
            seconds.append(watch.seconds)
        output = done.stdout
    shutil.rmtree(scratch, ignore_errors=True)
    return {"seconds": seconds, "nothing_to_do": "nothing to do" in output, "output": output}


def _noop_rows(crawl: Built, prepared: dict[str, Any], data: dict[str, Any]) -> list[Row]:
    plain, planned, cli = data["run"], data["plan"], data["cli"]
    files = crawl.meta["files"]
    seconds = median([r["seconds"] for r in plain])
    ok = all(r["status"] == "nothing_to_do" and r["skipped"] == files for r in plain + planned)
    ok = ok and all(r["planned_partitions"] == 0 for r in planned)
    first = prepared["first_run"]["seconds"]
    statuses = "/".join(sorted({r["status"] for r in plain + planned}))
    skipped = "/".join(str(n) for n in sorted({r["skipped"] for r in plain + planned}))

    def step(runs: list[dict[str, Any]], name: str) -> float:
        return median([r["steps"][name] for r in runs])

    return [
        Row(
            f"Incremental no-op rerun over {files:,} already-processed crawl files (fresh "
            "process): FeatureStore(repo) + Pipeline.from_file + run()",
            f"< {TARGET_NOOP_SECONDS:.0f} s",
            f"{fmt_seconds(seconds)} (runs {', '.join(fmt_seconds(r['seconds']) for r in plain)});"
            f" status {statuses}, {skipped} of {files:,} files skipped"
            + ("" if ok else "; [red]not a no-op[/]"),
            ok and seconds < TARGET_NOOP_SECONDS,
            f"the first run over these files ({files:,} partitions, processes, 2 workers; once, "
            f"building the cache): {fmt_seconds(first)}, {fmt_seconds(first / files)} per "
            "partition",
        ),
        Row(
            "no-op rerun: where the time goes (medians)",
            "-",
            f"FeatureStore(repo) {fmt_seconds(step(plain, 'store'))} · Pipeline.from_file "
            f"{fmt_seconds(step(plain, 'pipeline'))} · run() {fmt_seconds(step(plain, 'run'))}; "
            f"plan() alone {fmt_seconds(step(planned, 'plan'))} (then run() "
            f"{fmt_seconds(step(planned, 'run'))})",
            None,
            f"before that, importing cinefeat.pipeline: "
            f"{fmt_seconds(median([r['import_seconds'] for r in plain]))}; the whole "
            f"`cinefeat pipeline run` process (plans twice, prints the run): "
            f"{fmt_seconds(median(cli['seconds']))}"
            + ("" if cli["nothing_to_do"] else " [red](not a no-op)[/]"),
        ),
    ]


def run(ctx: Context) -> Section:
    settings = ctx.settings
    crawl = _ensure_crawl(ctx, "pipeline-crawl", settings.pipeline_world, "pipeline-build")
    noop_crawl = _ensure_crawl(ctx, "pipeline-noop", settings.noop_world, "pipeline-noop-build")
    noop_yaml = pipeline_yaml(noop_crawl.path / "tmdb", "processes", 2, validation=False)
    prepared, prepared_meta = _ensure_noop_repo(ctx, noop_crawl, noop_yaml)

    repo = DATA_DIR / f"pipeline-repo-{settings.name}"
    variants = {
        name: {
            "crawl": str(crawl.path / "tmdb"),
            "repo": str(repo),
            "mode": mode,
            "workers": workers,
            "validation": validation,
            "no_quality": name.endswith("no-quality"),
        }
        for name, (mode, workers, validation) in VARIANTS.items()
    }
    try:
        results = run_interleaved(
            ctx, "pipeline", "pipeline", variants, settings.runs, warmup=not settings.quick
        )
    finally:
        shutil.rmtree(repo, ignore_errors=True)
    throughput = {name: _summary(runs) for name, runs in results.items()}

    scratch = DATA_DIR / f"pipeline-noop-scratch-{settings.name}"
    noop_args = {"prepared": str(prepared), "repo": str(scratch), "plan": False}
    try:
        # The warm-up. A repo prepared by an older cinefeat may not count as processed by this
        # one (e.g. a run record without what the planner now compares): prepare it again.
        with ctx.console.status("pipeline no-op: warm-up"):
            check = run_worker("pipeline-noop", noop_args)
        if check["status"] != "nothing_to_do":
            ctx.console.print(
                f"the cached no-op repo reran as {check['status']!r} (prepared by an older "
                "cinefeat?): preparing it again"
            )
            prepared, prepared_meta = _ensure_noop_repo(ctx, noop_crawl, noop_yaml, force=True)
        noop: dict[str, Any] = run_interleaved(
            ctx,
            "pipeline no-op",
            "pipeline-noop",
            {"run": noop_args, "plan": {**noop_args, "plan": True}},
            max(settings.cli_runs, 1),
            warmup=False,
        )
        with ctx.console.status("pipeline no-op: cinefeat pipeline run (whole process)"):
            noop["cli"] = _cli_noop(prepared, scratch, max(settings.cli_runs, 1))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    data = {
        "cinefeat_path": throughput["processes-2"]["runs"][0]["cinefeat_path"],
        "crawl": {"path": str(crawl.path), **crawl.meta},
        "noop_crawl": {"path": str(noop_crawl.path), **noop_crawl.meta},
        "noop_prepared": prepared_meta,
        "throughput": throughput,
        "speedup_2_over_1": throughput["processes-1"]["seconds_median"]
        / throughput["processes-2"]["seconds_median"],
        "noop": noop,
        "noop_seconds_median": median([r["seconds"] for r in noop["run"]]),
    }
    rows = _throughput_rows(crawl, throughput) + _noop_rows(noop_crawl, prepared_meta, noop)
    return Section("pipeline", rows=rows, data=data)
