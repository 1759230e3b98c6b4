"""Profiling a pipeline run: per-stage wall time, CPU time, peak memory and throughput.

`PerformanceProfiler().profile_pipeline(pipeline)` registers itself as an observer of the
pipeline, runs it, unregisters (also when the run fails) and returns a `PipelineProfile`: one
`StageProfile` per stage that ran, in order, plus a totals row. Per stage:

- wall seconds: the parent's `time.perf_counter()` from the stage's start to its end;
- CPU seconds: the parent's own CPU time during the stage (`time.process_time()`, every thread
  of the parent) plus the CPU time of each partition task run in a worker process. In "threads"
  mode the tasks run in the parent, so their CPU time is already in the parent's and is not
  added again;
- peak memory: the largest of the parent's resident set size during the stage (sampled from
  `/proc/self/statm` by a background thread every ~20 ms, since `ru_maxrss` only ever grows)
  and each worker task's `peak_rss`. A worker's `peak_rss` is that worker process's lifetime
  peak (`ru_maxrss`), so it is an upper bound for the task (a pool worker that ran several
  tasks reports the largest of them for each). In "threads" mode the sampled parent RSS covers
  the tasks, and the parent's lifetime `ru_maxrss` they report is not used. Where
  `/proc/self/statm` does not exist, the parent's `ru_maxrss` is used: an upper bound too;
- rows read / written / quarantined: from the run record's stage record; rows/s is rows read
  per wall second (0 when no rows were read);
- partitions: partition tasks processed; workers: distinct processes that ran them.

The totals row sums the stages (wall, CPU, rows, partitions) and takes the largest peak memory
and worker count. `PipelineProfile.to_json(path)` writes the profile atomically;
`PipelineProfile.table()` renders it as a rich table.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:
    from cinefeat.pipeline._runner import Pipeline
    from cinefeat.registry import StageRecord

__all__ = ["PerformanceProfiler", "PipelineProfile", "StageProfile"]

_SAMPLE_INTERVAL = 0.02  # seconds between samples of the parent's RSS
_MB = 1024 * 1024


@dataclass(frozen=True)
class StageProfile:
    """How one stage ran (or, named "total", the whole run's sum of stages)."""

    name: str
    type: str
    wall_seconds: float
    cpu_seconds: float  # parent_cpu_seconds + worker_cpu_seconds
    parent_cpu_seconds: float
    worker_cpu_seconds: float  # of tasks run in worker processes only
    peak_rss_bytes: int
    rows_read: int
    rows_written: int
    rows_quarantined: int
    partitions: int
    workers: int

    @property
    def cpu_per_wall(self) -> float:
        """CPU seconds per wall second: ~1 for one busy core, ~N for N busy cores."""
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def peak_mb(self) -> float:
        return self.peak_rss_bytes / _MB

    @property
    def rows_per_second(self) -> float:
        """Rows read per wall second (0 when no rows were read)."""
        return self.rows_read / self.wall_seconds if self.rows_read and self.wall_seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The fields, plus the derived `cpu_per_wall`, `peak_mb` and `rows_per_second`."""
        return asdict(self) | {
            "cpu_per_wall": self.cpu_per_wall,
            "peak_mb": self.peak_mb,
            "rows_per_second": self.rows_per_second,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageProfile:
        """The inverse of `to_dict` (the derived values are recomputed, not read)."""
        return cls(**{f.name: data[f.name] for f in fields(cls)})


def _totals(stages: tuple[StageProfile, ...]) -> StageProfile:
    return StageProfile(
        name="total",
        type="",
        wall_seconds=sum(s.wall_seconds for s in stages),
        cpu_seconds=sum(s.cpu_seconds for s in stages),
        parent_cpu_seconds=sum(s.parent_cpu_seconds for s in stages),
        worker_cpu_seconds=sum(s.worker_cpu_seconds for s in stages),
        peak_rss_bytes=max((s.peak_rss_bytes for s in stages), default=0),
        rows_read=sum(s.rows_read for s in stages),
        rows_written=sum(s.rows_written for s in stages),
        rows_quarantined=sum(s.rows_quarantined for s in stages),
        partitions=sum(s.partitions for s in stages),
        workers=max((s.workers for s in stages), default=0),
    )


@dataclass(frozen=True)
class PipelineProfile:
    """A profiled run: which run, how it was configured, each stage's profile and the totals.

    `run_seconds` is the whole `Pipeline.run` call (planning and bookkeeping included), so it
    is at least the totals' wall seconds.
    """

    run_id: str
    pipeline: str
    status: str
    workers: int  # configured execution.workers
    mode: str  # configured execution.mode
    run_seconds: float
    stages: tuple[StageProfile, ...]

    @property
    def totals(self) -> StageProfile:
        return _totals(self.stages)

    def stage(self, name: str) -> StageProfile:
        """The profile of the stage called `name` (KeyError when it did not run)."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the run, its config, one dict per stage and the totals."""
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "status": self.status,
            "config": {"workers": self.workers, "mode": self.mode},
            "run_seconds": self.run_seconds,
            "stages": [s.to_dict() for s in self.stages],
            "totals": self.totals.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineProfile:
        """The inverse of `to_dict` (also of the JSON text `to_json` writes, once parsed)."""
        return cls(
            run_id=data["run_id"],
            pipeline=data["pipeline"],
            status=data["status"],
            workers=data["config"]["workers"],
            mode=data["config"]["mode"],
            run_seconds=data["run_seconds"],
            stages=tuple(StageProfile.from_dict(s) for s in data["stages"]),
        )

    def to_json(self, path: str | Path) -> Path:
        """Write `to_dict()` as JSON to `path` atomically (temp file + rename), creating its
        folder; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        try:
            temp.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)
        return path

    def table(self) -> Table:
        """The profile as a rich table: one row per stage, then the totals."""
        table = Table(
            title=f"profile of run {self.run_id} of {self.pipeline} "
            f"({self.workers} worker(s), {self.mode})",
            title_justify="left",
        )
        table.add_column("stage")
        for column in ("wall s", "CPU s", "CPU/wall", "peak MB", "rows read", "rows/s"):
            table.add_column(column, justify="right")
        table.add_column("partitions", justify="right")
        for index, s in enumerate((*self.stages, self.totals)):
            table.add_row(
                s.name, f"{s.wall_seconds:.2f}", f"{s.cpu_seconds:.2f}", f"{s.cpu_per_wall:.2f}",
                f"{s.peak_mb:,.1f}", f"{s.rows_read:,}", f"{s.rows_per_second:,.0f}",
                str(s.partitions),
                end_section=index == len(self.stages) - 1,
            )  # fmt: skip
        return table


class _RssSampler:
    """Tracks the parent's largest resident set size while it runs (a daemon thread)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._statm: IO[bytes] | None = None
        with contextlib.suppress(OSError):
            self._statm = open("/proc/self/statm", "rb")  # noqa: SIM115 - closed in stop()
        self._page = os.sysconf("SC_PAGE_SIZE") if self._statm is not None else 0
        self.sample()
        self._thread = threading.Thread(
            target=self._loop, name="cinefeat-profiler-rss", daemon=True
        )
        self._thread.start()

    def sample(self) -> None:
        if self._statm is None:
            rss = _lifetime_peak_rss()
        else:
            self._statm.seek(0)
            rss = int(self._statm.read().split()[1]) * self._page
        self.peak = max(self.peak, rss)

    def _loop(self) -> None:
        while not self._stop.wait(_SAMPLE_INTERVAL):
            self.sample()

    def stop(self) -> int:
        """Stop sampling (one last sample first); returns the peak in bytes."""
        self._stop.set()
        self._thread.join()
        self.sample()
        if self._statm is not None:
            self._statm.close()
            self._statm = None
        return self.peak


def _lifetime_peak_rss() -> int:
    import resource

    peak = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


@dataclass
class _Running:
    """The stage being profiled: when it started, and the parent's CPU time then."""

    name: str
    wall: float
    cpu: float
    sampler: _RssSampler


class PerformanceProfiler:
    """Profiles pipeline runs, stage by stage (see the module docstring for what is measured).

    Use `profile_pipeline`; the `stage_started` / `stage_finished` methods are the observer
    interface `Pipeline` calls.
    """

    def __init__(self) -> None:
        self._stages: list[StageProfile] = []
        self._running: _Running | None = None
        self._mode = "processes"

    def profile_pipeline(
        self, pipeline: Pipeline, *, resume: bool = False, progress: bool = False
    ) -> PipelineProfile:
        """Run `pipeline` (as `pipeline.run(resume=..., progress=...)`) and profile it; the
        run's errors propagate, after the profiler has unregistered itself."""
        self._stages = []
        self._mode = pipeline.config.execution.mode
        pipeline.observers.append(self)
        started = time.perf_counter()
        try:
            record = pipeline.run(resume=resume, progress=progress)
        finally:
            self._stop_sampler()
            with contextlib.suppress(ValueError):
                pipeline.observers.remove(self)
        return PipelineProfile(
            run_id=record.run_id,
            pipeline=record.pipeline,
            status=record.status,
            workers=pipeline.config.execution.workers,
            mode=self._mode,
            run_seconds=time.perf_counter() - started,
            stages=tuple(self._stages),
        )

    # -- the observer interface -----------------------------------------------------------

    def stage_started(self, stage_name: str) -> None:
        self._stop_sampler()
        self._running = _Running(
            stage_name, time.perf_counter(), time.process_time(), _RssSampler()
        )

    def stage_finished(
        self, stage_name: str, record: StageRecord, worker_stats: list[dict[str, Any]]
    ) -> None:
        wall_end, cpu_end = time.perf_counter(), time.process_time()
        running, self._running = self._running, None
        if running is None or running.name != stage_name:  # not started under this profiler
            if running is not None:
                running.sampler.stop()
            return
        parent_peak = running.sampler.stop()
        me = os.getpid()
        in_process = [self._ran_here(stats, me) for stats in worker_stats]
        elsewhere = [s for s, here in zip(worker_stats, in_process, strict=True) if not here]
        parent_cpu = cpu_end - running.cpu
        worker_cpu = sum(float(s["cpu_seconds"]) for s in elsewhere)
        self._stages.append(
            StageProfile(
                name=stage_name,
                type=record.type,
                wall_seconds=wall_end - running.wall,
                cpu_seconds=parent_cpu + worker_cpu,
                parent_cpu_seconds=parent_cpu,
                worker_cpu_seconds=worker_cpu,
                peak_rss_bytes=max([parent_peak, *(int(s["peak_rss"]) for s in elsewhere)]),
                rows_read=record.rows_read,
                rows_written=record.rows_written,
                rows_quarantined=record.rows_quarantined,
                partitions=len(worker_stats),
                workers=len({s.get("pid", i) for i, s in enumerate(worker_stats)}),
            )
        )

    def _ran_here(self, stats: dict[str, Any], me: int) -> bool:
        """Whether a task ran in this process ("threads" mode) rather than in a worker."""
        return bool(stats["pid"] == me) if "pid" in stats else self._mode == "threads"

    def _stop_sampler(self) -> None:
        if self._running is not None:
            self._running.sampler.stop()
            self._running = None
