"""`cinefeat pipeline ...`: run a YAML feature pipeline (plan, incremental, resume, watch) and
show its run records."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from cinefeat.errors import CinefeatError

if TYPE_CHECKING:
    from cinefeat.pipeline import Pipeline
    from cinefeat.registry import RunRecord

__all__ = ["pipeline_app"]

pipeline_app = typer.Typer(
    help="Run feature pipelines and inspect their runs.", no_args_is_help=True
)
console = Console()

RepoOption = Annotated[Path, typer.Option("--repo", "-r", help="The repo (holds cinefeat.yaml).")]


def _runs_table(runs: list[RunRecord]) -> Table:
    table = Table(title="pipeline runs", title_justify="left")
    for column in ("run", "pipeline", "status", "started", "seconds", "inputs", "rows written"):
        table.add_column(column)
    for run in runs:
        seconds = "" if run.duration is None else f"{run.duration.total_seconds():.2f}"
        written = sum(s.rows_written for s in run.stages)
        table.add_row(
            run.run_id, run.pipeline, run.status, f"{run.started_at:%Y-%m-%d %H:%M:%S}",
            seconds, str(len(run.inputs)), f"{written:,}",
        )  # fmt: skip
    return table


def show_run(run: RunRecord, out: Console | None = None, *, detailed: bool = False) -> None:
    """Print a run record: status, stages and outputs; `detailed` adds what each stage reads
    and writes, and every input file with its fingerprint."""
    out = out or console
    out.print(
        f"[bold]run {run.run_id}[/] of {run.pipeline}: {run.status}"
        + (f" in {run.duration.total_seconds():.2f} s" if run.duration else "")
        + f"; config {run.config_hash[:12]}; options {run.options}"
    )
    if run.error:
        out.print(f"[red]error:[/] {run.error}")
    if run.stages:
        stages = Table(title="stages", title_justify="left")
        for column in ("stage", "status", "parts", "read", "written", "quarantined", "seconds"):
            stages.add_column(column, justify="left" if column in ("stage", "status") else "right")
        for s in run.stages:
            stages.add_row(
                s.name, s.status, f"{s.partitions_done}/{s.partitions_total}", f"{s.rows_read:,}",
                f"{s.rows_written:,}", f"{s.rows_quarantined:,}", f"{s.seconds:.2f}",
            )  # fmt: skip
        out.print(stages)
    if detailed:
        for s in run.stages:
            out.print(f"  {s.name} ({s.type}): reads {', '.join(s.reads) or '-'}")
            out.print(f"  {' ' * len(s.name)}   writes {', '.join(s.writes) or '-'}")
    if run.outputs:
        outputs = Table(title="outputs", title_justify="left")
        for column in ("view", "version", "table", "Delta version", "rows"):
            outputs.add_column(column)
        for o in run.outputs:
            outputs.add_row(
                o.view, str(o.version or ""), o.table, str(o.delta_version), f"{o.rows:,}"
            )
        out.print(outputs)
    out.print(f"inputs processed: {len(run.inputs)}; skipped: {len(run.skipped)}")
    if detailed:
        for fp in run.inputs:
            out.print(f"  {fp.input}: {fp.path} ({fp.size:,} bytes, sha256 {fp.sha256[:12]})")
        for path, why in run.skipped:
            out.print(f"  skipped {path}: {why}")


@pipeline_app.command("run")
def run(
    file: Annotated[Path, typer.Argument(help="The pipeline YAML file.")],
    repo: RepoOption = Path("."),
    resume: Annotated[
        bool, typer.Option(help="Finish the last unfinished run from its checkpoints.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan, run nothing.")
    ] = False,
    watch: Annotated[
        bool, typer.Option(help="Keep polling the inputs; run when something arrives.")
    ] = False,
    interval: Annotated[float, typer.Option(help="Seconds between polls with --watch.")] = 5.0,
    profile: Annotated[
        bool,
        typer.Option(
            "--profile", help="Profile each run: per-stage wall/CPU time, peak memory, rows/s."
        ),
    ] = False,
    profile_json: Annotated[
        Path | None,
        typer.Option(
            help="Where --profile writes its JSON (implies --profile; '{run_id}' in it is "
            "replaced by the run id). Default: "
            "<repo>/data/pipelines/<pipeline>/profiles/<run id>.json."
        ),
    ] = None,
) -> None:
    """Run the pipeline over new and changed inputs (all of them the first time)."""
    from cinefeat.pipeline import Pipeline
    from cinefeat.store import FeatureStore

    pipeline = Pipeline.from_file(file, FeatureStore(repo))
    if dry_run:
        console.print(pipeline.plan(resume=resume).describe())
        return
    profile = profile or profile_json is not None
    if not watch:
        _run_once(pipeline, resume, profile, profile_json)
        return
    console.print(f"watching the inputs every {interval:g} s; Ctrl-C stops")
    while True:
        try:
            if pipeline.plan(resume=resume).has_work:
                _run_once(pipeline, resume, profile, profile_json)
            resume = False
            time.sleep(interval)
        except KeyboardInterrupt:
            # Between runs there is nothing to lose; a run cut short is resumable.
            console.print("stopped watching")
            return
        except CinefeatError as exc:  # a bad file must not end the watch: report, wait, retry
            console.print(f"[red]run failed:[/] {exc}")
            time.sleep(interval)


def _run_once(pipeline: Pipeline, resume: bool, profile: bool, profile_json: Path | None) -> None:
    from cinefeat.pipeline import PerformanceProfiler

    profiled = (
        PerformanceProfiler().profile_pipeline(pipeline, resume=resume, progress=True)
        if profile
        else None
    )
    record = (
        pipeline.run(resume=resume) if profiled is None else pipeline.runs.get_run(profiled.run_id)
    )
    show_run(record)
    if record.status == "nothing_to_do":
        console.print("nothing to do: every input was processed before and is unchanged")
    if profiled is not None:
        console.print(profiled.table())
        path = (
            pipeline.home / "profiles" / f"{record.run_id}.json"
            if profile_json is None
            else Path(str(profile_json).replace("{run_id}", record.run_id))
        )
        console.print(f"profile written to {profiled.to_json(path)}")


@pipeline_app.command("runs")
def runs(
    repo: RepoOption = Path("."),
    pipeline: Annotated[str | None, typer.Option(help="Only this pipeline's runs.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20,
) -> None:
    """List pipeline runs, newest first."""
    from cinefeat.store import FeatureStore

    records = FeatureStore(repo).registry.pipeline_runs().list_runs(pipeline, limit)
    console.print(_runs_table(records) if records else "no pipeline runs yet")


@pipeline_app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="A run id (or a unique prefix of one).")],
    repo: RepoOption = Path("."),
) -> None:
    """One run's record: stages, rows, timings, inputs and outputs."""
    from cinefeat.store import FeatureStore

    show_run(FeatureStore(repo).registry.pipeline_runs().get_run(run_id), detailed=True)
