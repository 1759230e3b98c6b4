"""Running a pipeline: plan what changed, run each stage over the partitions to process (on a
process pool, checkpointing each), record the run, and resume a killed one where it stopped."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from rich.progress import Progress

from cinefeat.errors import CinefeatError
from cinefeat.pipeline._config import PipelineConfig, PipelineConfigError, load_pipeline_config
from cinefeat.pipeline._fingerprint import InputChanges, classify, fingerprint_file
from cinefeat.pipeline._partitions import LOADER_KINDS, Partition, discover_partitions
from cinefeat.pipeline._stage import (
    ALL_PARTS,
    Datasets,
    Stage,
    StageContext,
    StageReport,
    kill_point,
)
from cinefeat.pipeline._stage_types import build_stages
from cinefeat.registry import InputFingerprint, PipelineRuns, RunRecord, StageRecord
from cinefeat.store import FeatureStore

__all__ = ["Pipeline", "PipelinePlan"]


@dataclass(frozen=True)
class PipelinePlan:
    """What a run would do: the partitions to process (with why) and the inputs it skips."""

    pipeline: str
    process: tuple[tuple[Partition, str], ...]
    skipped: tuple[tuple[str, str], ...]  # (path, why)
    changes: InputChanges
    stages: tuple[Stage, ...]
    resume_of: RunRecord | None = None
    # Fingerprints to record once the run succeeds (processed and refreshed files), and the
    # files to forget (gone since they were processed).
    record: tuple[InputFingerprint, ...] = ()
    forget: tuple[tuple[str, str], ...] = ()

    @property
    def has_work(self) -> bool:
        return bool(self.process)

    def describe(self) -> str:
        lines = [f"pipeline {self.pipeline}: {len(self.process)} partition(s) to process"]
        if self.resume_of is not None:
            lines[0] += f" (resuming run {self.resume_of.run_id})"
        lines.append(
            "stages: " + " -> ".join(f"{s.name} ({type(s).__name__})" for s in self.stages)
        )
        lines += [f"  process {p.key}: {why} ({len(p.files)} file(s))" for p, why in self.process]
        lines += [f"  skip {path}: {why}" for path, why in self.skipped]
        if not self.process:
            lines.append("nothing to do: every input was processed before and is unchanged")
        return "\n".join(lines)


def _check_one_input_per_kind(config: PipelineConfig) -> None:
    """Stored rows are replaced by snapshot (movies) or by row (ratings), not by input: two
    inputs of one kind would replace each other's rows."""
    seen: dict[str, str] = {}
    problems = []
    for name, spec in config.inputs.items():
        kind = LOADER_KINDS[spec.loader]
        if kind in seen:
            problems.append(
                f"{config.location('inputs', name)}: feature_pipeline.inputs.{name}: a second "
                f"{kind} input (after {seen[kind]!r}); use one input per kind, pointed at a "
                "folder that holds both (subfolders are read)"
            )
        seen.setdefault(kind, name)
    if problems:
        raise PipelineConfigError(problems)


def _with_old_snapshots(
    partition: Partition, processed: dict[tuple[str, str], InputFingerprint]
) -> Partition:
    """A partition whose snapshot time is its files' mtime also replaces the snapshots its
    files had when they were processed last (their recorded mtimes)."""
    if partition.snapshot_from != "file mtime":
        return partition
    old = {
        datetime.fromtimestamp(fp.mtime_ns / 1e9, UTC)
        for f in partition.files
        if (fp := processed.get((partition.input, str(f)))) is not None
    }
    return replace(partition, replaces=tuple(sorted(old - {partition.snapshot_ts})))


def _result(stage: Stage, partition: Partition, future: Future[dict[str, Any]]) -> dict[str, Any]:
    """The worker's result, or its error naming the stage and the partition."""
    try:
        return future.result()
    except BrokenProcessPool:
        raise CinefeatError(
            f"stage {stage.name}, partition {partition.key}: a worker process died (killed, out "
            "of memory, or a script without `if __name__ == '__main__':` started the pipeline)"
        ) from None
    except Exception as exc:
        raise _partition_error(stage, partition, exc) from exc


def _partition_error(stage: Stage, partition: Partition, exc: Exception) -> CinefeatError:
    what = str(exc) if isinstance(exc, CinefeatError) else f"{type(exc).__name__}: {exc}"
    return CinefeatError(f"stage {stage.name}, partition {partition.key}: {what}")


def _worker_init() -> None:
    # Ctrl-C reaches the whole process group: the parent alone decides how to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A worker must not outlive a killed parent (it would keep computing, and keep its pipes
    # open): on Linux, ask the kernel to kill it with the parent.
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def _process_partition(stage: Stage, partition: Partition, work: str) -> dict[str, Any]:
    """Run in a worker: read this partition's inputs, run the stage, write its outputs."""
    started, cpu = time.perf_counter(), time.process_time()
    datasets = Datasets(Path(work))
    inputs = {name: datasets.get(name, partition.key) for name in stage.reads}
    output = stage.process_partition(partition, inputs)
    for name, frame in output.frames.items():
        datasets.put(name, frame, partition.key, output.meta.get(name))
    peak = _peak_rss()
    return {
        "rows_read": output.rows_read,
        "rows_written": output.rows_written,
        "rows_quarantined": output.rows_quarantined,
        "messages": output.messages,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "peak_rss": peak,
        "pid": os.getpid(),  # the parent's own pid in "threads" mode (profilers tell them apart)
    }


def _peak_rss() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Children spawned meanwhile start with one Polars and one DuckDB thread each."""
    saved = {k: os.environ.get(k) for k in ("POLARS_MAX_THREADS", "CINEFEAT_DUCKDB_THREADS")}
    os.environ.update(POLARS_MAX_THREADS="1", CINEFEAT_DUCKDB_THREADS="1")
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Pipeline:
    """A configured pipeline over one repo's store."""

    def __init__(self, config: PipelineConfig, store: FeatureStore) -> None:
        self.config = config
        self.store = store
        self.stages = build_stages(config)
        _check_one_input_per_kind(config)
        self.runs = PipelineRuns(store.registry)
        self.home = store.repo_path / "data" / "pipelines" / config.name
        self.observers: list[Any] = []  # e.g. a PerformanceProfiler: stage_started/stage_finished

    @classmethod
    def from_file(cls, path: str | Path, store: FeatureStore) -> Pipeline:
        return cls(load_pipeline_config(path), store)

    # -- planning -------------------------------------------------------------------------

    def plan(self, *, resume: bool = False) -> PipelinePlan:
        """What a run would process and skip, and why (no data is read, only fingerprints)."""
        inputs = {
            name: (spec.loader, self.config.input_path(name), spec.snapshot_ts)
            for name, spec in self.config.inputs.items()
        }
        missing = [
            f"{self.config.location('inputs', name, 'path')}: "
            f"feature_pipeline.inputs.{name}.path: {path} does not exist"
            for name, (_, path, _) in inputs.items()
            if not path.exists()
        ]
        if missing:
            raise PipelineConfigError(missing)
        partitions = discover_partitions(inputs)
        processed = self.runs.processed_inputs(self.config.name)
        current = {
            (p.input, str(f)): fingerprint_file(p.input, f, processed.get((p.input, str(f))))
            for p in partitions
            for f in p.files
        }
        last = self.runs.latest_clean(self.config.name)
        stale = last is not None and last.options.get("content_hash") != self.config.content_hash
        # Results made under other inputs, stages or params are stale: everything is new again.
        baseline = {} if stale or not self.config.incremental else processed
        changes = classify(current, baseline)
        new_reason = "config changed" if stale else "new"
        why = {fp.key: new_reason for fp in changes.new}
        why |= {fp.key: "changed" for fp in changes.changed}
        for partition in partitions:
            if partition.snapshot_from == "file mtime":
                # Its snapshot time is its mtime: a touch moves it to another snapshot.
                for fp in changes.touched:
                    if fp.input == partition.input and Path(fp.path) in partition.files:
                        why[fp.key] = "changed (its mtime is its snapshot time)"
        previous = self.runs.latest_unfinished(self.config.name) if resume else None
        to_record = [fp for fp in changes.to_record if fp.key in why]
        if previous is not None:
            self._check_resumable(previous, current)
            why = {fp.key: "resumed" for fp in previous.inputs}
            to_record = list(previous.inputs)
        waiting = {fp.key for fp in changes.to_process} if previous is not None else set()
        process, skipped = [], []
        for partition in partitions:
            keys = [(partition.input, str(f)) for f in partition.files]
            reasons = sorted({why[k] for k in keys if k in why})
            if reasons:
                process.append((_with_old_snapshots(partition, processed), "/".join(reasons)))
            else:
                note = "new or changed: for the next run" if waiting & set(keys) else "unchanged"
                skipped += [(str(f), note) for f in partition.files]
        skipped += [(fp.path, "removed (its rows stay in the store)") for fp in changes.removed]
        refresh = [fp for fp in changes.touched if fp.key not in why] if previous is None else []
        return PipelinePlan(
            self.config.name,
            tuple(process),
            tuple(skipped),
            changes,
            tuple(self.stages),
            previous,
            tuple(to_record) + tuple(refresh),
            () if previous is not None else changes.removed_keys,
        )

    def _check_resumable(
        self, previous: RunRecord, current: dict[tuple[str, str], InputFingerprint]
    ) -> None:
        if previous.options.get("content_hash") != self.config.content_hash:
            raise CinefeatError(
                f"cannot resume run {previous.run_id}: it was started with another version of "
                "the pipeline's inputs, stages or params; run without --resume to start over"
            )
        for fp in previous.inputs:
            now = current.get(fp.key)
            if now is None or now.sha256 != fp.sha256:
                raise CinefeatError(
                    f"cannot resume run {previous.run_id}: {fp.path} "
                    f"{'is gone' if now is None else 'changed'} since it started; run without "
                    "--resume to process the inputs as they are now"
                )

    # -- running --------------------------------------------------------------------------

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
        try:
            with self._progress(progress) as bar:
                context.progress = bar
                for stage in self.stages:
                    self._run_stage(stage, context, done, bar)
        except BaseException as exc:
            message = f"{type(exc).__name__}: {exc}"
            self.runs.finish_run(record.run_id, "failed", message)
            if isinstance(exc, CinefeatError | KeyboardInterrupt):
                raise
            raise CinefeatError(
                f"pipeline {self.config.name} failed (run {record.run_id}): {message}"
            ) from exc
        # Promote what stages remember before the inputs count as processed: a crash between the
        # two reprocesses inputs the store already reflects, which the remembered state matches.
        context.datasets.promote_state(context.state_dir)
        self.runs.mark_processed(self.config.name, record.run_id, plan.record, plan.forget)
        final = self.runs.finish_run(record.run_id, "succeeded")
        # This run's work, and that of earlier unfinished runs it supersedes (nothing is left
        # to resume once a run succeeds).
        shutil.rmtree(self.home / "runs", ignore_errors=True)
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
            for partition, stats in self._partition_results(stage, todo, context):
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

    def _partition_results(
        self, stage: Stage, todo: list[Partition], context: StageContext
    ) -> Iterator[tuple[Partition, dict[str, Any]]]:
        work = str(context.datasets.root)
        execution = self.config.execution
        if not todo:
            return
        if execution.mode == "threads":
            # One process: Polars and DuckDB spread each partition's work over their threads.
            for partition in todo:
                try:
                    stats = _process_partition(stage, partition, work)
                except Exception as exc:
                    raise _partition_error(stage, partition, exc) from exc
                yield partition, stats
            return
        with (
            _single_threaded_children(),
            ProcessPoolExecutor(
                max_workers=min(execution.workers, len(todo)),
                mp_context=get_context("spawn"),
                initializer=_worker_init,
            ) as pool,
        ):
            futures: dict[Future[dict[str, Any]], Partition] = {
                pool.submit(_process_partition, stage, p, work): p for p in todo
            }
            try:
                # In submission order, so checkpoints (and a resume) follow the partition order.
                for future, partition in futures.items():
                    yield partition, _result(stage, partition, future)
            except BaseException:
                # Do not wait for the queued partitions: the run stops here (resumable).
                pool.shutdown(wait=True, cancel_futures=True)
                raise
