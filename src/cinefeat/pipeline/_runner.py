"""Running a pipeline: run each stage over the planned partitions (checkpointing each), record
the run, and resume a killed one where it stopped."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.progress import Progress

from cinefeat.errors import CinefeatError
from cinefeat.pipeline._config import PipelineConfig, load_pipeline_config
from cinefeat.pipeline._plan import PipelinePlan, check_one_input_per_kind, make_plan
from cinefeat.pipeline._stage import (
    ALL_PARTS,
    Datasets,
    Stage,
    StageContext,
    StageReport,
    discard_staged,
    kill_point,
)
from cinefeat.pipeline._stage_types import build_stages
from cinefeat.pipeline._workers import WorkerPool, partition_results
from cinefeat.registry import PipelineRuns, RunRecord, StageRecord
from cinefeat.store import FeatureStore, monitor_after

__all__ = ["Pipeline", "PipelinePlan"]


class Pipeline:
    """A configured pipeline over one repo's store."""

    def __init__(self, config: PipelineConfig, store: FeatureStore) -> None:
        self.config = config
        self.store = store
        self.stages = build_stages(config)
        check_one_input_per_kind(config)
        self.runs = PipelineRuns(store.registry)
        self.home = store.repo_path / "data" / "pipelines" / config.name
        self.observers: list[Any] = []  # e.g. a PerformanceProfiler: stage_started/stage_finished

    @classmethod
    def from_file(cls, path: str | Path, store: FeatureStore) -> Pipeline:
        return cls(load_pipeline_config(path), store)

    # -- planning -------------------------------------------------------------------------

    def plan(self, *, resume: bool = False) -> PipelinePlan:
        """What a run would process and skip, and why (no data is read, only fingerprints)."""
        return make_plan(self.config, self.runs, self.stages, resume)

    def run(self, *, resume: bool = False, progress: bool = True) -> RunRecord:
        """Run the stages over what changed; with `resume`, finish the last unfinished run
        (same config) from its checkpoints. Returns the run record."""
        with self._exclusive():
            return self._run_locked(resume, progress)

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One run of a pipeline at a time (two would replace each other's slices and share a
        work directory); the lock dies with the process, so a killed run leaves none behind."""
        import fcntl

        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / ".lock", "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CinefeatError(
                    f"pipeline {self.config.name} is already running in another process "
                    f"(lock {self.home / '.lock'})"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _run_locked(self, resume: bool, progress: bool) -> RunRecord:
        plan = self.plan(resume=resume)
        partitions = [p for p, _ in plan.process]
        to_process = {(p.input, str(f)) for p in partitions for f in p.files}
        fingerprints = [fp for fp in plan.record if fp.key in to_process]
        options = {
            "resume": resume,
            "workers": self.config.execution.workers,
            "mode": self.config.execution.mode,
            "chunk_rows": self.config.execution.chunk_rows,
            "content_hash": self.config.content_hash,
        }
        if not plan.has_work:
            record = self.runs.start_run(
                self.config.name, self.config.config_hash, [], plan.skipped, [], options
            )
            self.runs.mark_processed(self.config.name, record.run_id, plan.record, plan.forget)
            return self.runs.finish_run(record.run_id, "nothing_to_do")
        if plan.resume_of is not None:
            record = self.runs.reopen_run(plan.resume_of.run_id)
            done = self.runs.checkpoints(record.run_id)
        else:
            stages = [
                StageRecord(
                    s.name,
                    type(s).__name__,
                    s.reads,
                    s.writes,
                    partitions_total=len(partitions) if s.partitioned else 0,
                )
                for s in self.stages
            ]
            record = self.runs.start_run(
                self.config.name,
                self.config.config_hash,
                fingerprints,
                plan.skipped,
                stages,
                options,
            )
            done = {}
        work = self.home / "runs" / record.run_id
        (self.home / "state").mkdir(parents=True, exist_ok=True)
        context = StageContext(
            self.store, self.config, record.run_id, partitions, Datasets(work), self.home / "state"
        )
        execution = self.config.execution
        pool = WorkerPool(execution) if execution.mode == "processes" else None
        try:
            with self._progress(progress) as bar:
                context.progress = bar
                for stage in self.stages:
                    self._run_stage(stage, context, done, bar, pool)
        except BaseException as exc:
            if pool is not None:
                pool.close()
            message = f"{type(exc).__name__}: {exc}"
            self.runs.finish_run(record.run_id, "failed", message)
            if isinstance(exc, CinefeatError | KeyboardInterrupt):
                raise
            raise CinefeatError(
                f"pipeline {self.config.name} failed (run {record.run_id}): {message}"
            ) from exc
        if pool is not None:
            pool.close()
        # Promote what stages remember before the inputs count as processed: a crash between the
        # two reprocesses inputs the store already reflects, which the remembered state matches.
        context.datasets.promote_state(context.state_dir)
        self.runs.mark_processed(self.config.name, record.run_id, plan.record, plan.forget)
        final = self.runs.finish_run(record.run_id, "succeeded")
        # This run's work, and that of earlier unfinished runs it supersedes (nothing is left
        # to resume once a run succeeds), with the files those staged and never committed.
        for superseded in (self.home / "runs").iterdir():
            if superseded.name != record.run_id:
                discard_staged(Datasets(superseded), self.store.offline_store.root)
        shutil.rmtree(self.home / "runs", ignore_errors=True)
        views = [o.view for o in final.outputs if o.version is not None]  # not the quarantine
        monitor_after(self.store, views, context=record.run_id, trigger="pipeline")
        return final

    @contextlib.contextmanager
    def _progress(self, enabled: bool) -> Iterator[Progress | None]:
        if not enabled:
            yield None
            return
        with Progress(transient=False) as bar:
            yield bar

    def _run_stage(
        self,
        stage: Stage,
        context: StageContext,
        done: dict[tuple[str, str], dict[str, Any]],
        bar: Progress | None,
        pool: WorkerPool | None,
    ) -> None:
        record = next(
            (s for s in self.runs.get_run(context.run_id).stages if s.name == stage.name), None
        )
        record = record or StageRecord(stage.name, type(stage).__name__, stage.reads, stage.writes)
        todo = (
            [p for p in context.partitions if (stage.name, p.key) not in done]
            if stage.partitioned
            else []
        )
        total = (len(context.partitions) if stage.partitioned else 0) + 1
        task = (
            bar.add_task(
                stage.name,
                total=total,
                completed=total - len(todo) - ((stage.name, ALL_PARTS) not in done),
            )
            if bar
            else None
        )
        for observer in self.observers:
            observer.stage_started(stage.name)
        started = time.perf_counter()
        record = replace(record, status="running")
        self.runs.update_stage(context.run_id, record)
        worker_stats: list[dict[str, Any]] = []
        try:
            if todo:
                if done:  # a resumed run: what killed attempts staged for these is stale
                    root = self.store.offline_store.root
                    discard_staged(context.datasets, root, {p.key for p in todo})
                stage.prepare(context)
            for partition, stats in partition_results(stage, todo, context.datasets.root, pool):
                worker_stats.append(stats)
                record = replace(
                    record,
                    rows_read=record.rows_read + stats["rows_read"],
                    rows_written=record.rows_written + stats["rows_written"],
                    rows_quarantined=record.rows_quarantined + stats["rows_quarantined"],
                    partitions_done=record.partitions_done + 1,
                )
                self.runs.checkpoint_step(context.run_id, record, partition.key, stats)
                if bar is not None and task is not None:
                    bar.advance(task)
                kill_point(f"{stage.name}:{record.partitions_done}")
            if (stage.name, ALL_PARTS) not in done:
                try:
                    report = stage.run(context)
                except CinefeatError:
                    raise
                except Exception as exc:
                    raise CinefeatError(
                        f"stage {stage.name} ({type(stage).__name__}) failed: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                record = self._add_report(record, report)
                self.runs.checkpoint_step(
                    context.run_id,
                    record,
                    ALL_PARTS,
                    {"messages": report.messages},
                    report.outputs,
                )
        except BaseException:
            self.runs.update_stage(context.run_id, replace(record, status="failed"))
            raise
        seconds = time.perf_counter() - started
        record = replace(record, status="succeeded", seconds=record.seconds + seconds)
        self.runs.update_stage(context.run_id, record)
        if bar is not None and task is not None:
            bar.update(task, completed=total)
        for observer in self.observers:
            observer.stage_finished(stage.name, record, worker_stats)
        kill_point(f"{stage.name}:run")

    @staticmethod
    def _add_report(record: StageRecord, report: StageReport) -> StageRecord:
        return replace(
            record,
            rows_read=record.rows_read + report.rows_read,
            rows_written=record.rows_written + report.rows_written,
            rows_quarantined=record.rows_quarantined + report.rows_quarantined,
        )
