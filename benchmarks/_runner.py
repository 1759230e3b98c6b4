"""Running one measurement in a fresh Python process, and the small statistics helpers.

A measurement runs as `python -m benchmarks._worker TASK JSON`: the worker sets up untimed,
times one thing, and prints its numbers as one JSON line. A fresh process per measurement means
its peak RSS (`ru_maxrss`) belongs to that measurement alone.
"""

from __future__ import annotations

import json
import math
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from benchmarks._settings import PROJECT_ROOT, Settings

__all__ = [
    "CONTENTION",
    "Context",
    "CpuWatch",
    "StageClock",
    "WorkerError",
    "children_cpu_seconds",
    "children_peak_rss_bytes",
    "current_rss_bytes",
    "median",
    "peak_rss_bytes",
    "percentile",
    "run_interleaved",
    "run_worker",
]


@dataclass(frozen=True)
class Context:
    """What every benchmark gets: the run's settings, the built repo (None when no benchmark
    that runs needs it), a console, and whether cached data is to be regenerated."""

    settings: Settings
    dataset: Any  # benchmarks._data.Dataset | None
    console: Console
    rebuild: bool = False


class WorkerError(RuntimeError):
    pass


# Every CPU-contention reading of this run (cores busy with other processes while measuring).
CONTENTION: list[float] = []


def _busy_seconds() -> float:
    import psutil

    times = psutil.cpu_times()
    # steal: time the hypervisor gave this VM's vCPUs to other guests (a noisy neighbour).
    steal = getattr(times, "steal", 0.0)
    return float(times.user + times.nice + times.system + times.irq + times.softirq + steal)


def children_cpu_seconds() -> float:
    """CPU time of this process's finished (waited-for) subprocesses so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tree_cpu() -> float:
    return time.process_time() + children_cpu_seconds()


class CpuWatch:
    """Wall time, CPU time of the measured code, and how many cores other processes kept busy
    meanwhile (a 2-core machine shared with a test run gives noisy numbers; this says so).
    `children=True` measures subprocesses instead of this process; `tree=True` this process
    and its subprocesses (e.g. a process pool shut down before the block ends)."""

    def __init__(self, children: bool = False, tree: bool = False) -> None:
        self._own: Callable[[], float] = (
            _tree_cpu if tree else children_cpu_seconds if children else time.process_time
        )
        self.seconds = self.cpu_seconds = self.other_cores = 0.0

    def __enter__(self) -> CpuWatch:
        self._busy, self._cpu = _busy_seconds(), self._own()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = self._own() - self._cpu
        other = _busy_seconds() - self._busy - self.cpu_seconds
        self.other_cores = max(0.0, other / self.seconds) if self.seconds > 0 else 0.0
        CONTENTION.append(self.other_cores)

    def to_dict(self) -> dict[str, float]:
        return {
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "other_cores": self.other_cores,
        }


class StageClock:
    """Consecutive stages of one measured call: wall and CPU time of each, the RSS at its end
    and the process's peak RSS so far. `sample_seconds` also samples the RSS from a thread
    that often, which gives each stage's own peak (a small cost: use it in untimed runs)."""

    def __init__(self, sample_seconds: float | None = None) -> None:
        self.stages: list[dict[str, Any]] = []
        self._name: str | None = None
        self._wall = self._cpu = 0.0
        self._samples: list[tuple[float, int]] = []
        self._interval = sample_seconds
        self._stop: Any = None
        self._thread: Any = None

    def start(self, name: str) -> None:
        if self._interval is not None and self._thread is None:
            self._start_sampler(self._interval)
        self._name, self._wall, self._cpu = name, time.perf_counter(), time.process_time()

    def mark(self, name: str) -> None:
        """End the current stage (if any) and start `name`."""
        self._end()
        self.start(name)

    def stop(self) -> list[dict[str, Any]]:
        """End the last stage; the stages, in order."""
        self._end()
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            for stage in self.stages:
                began, ended = stage["_began"], stage["_ended"]
                inside = [rss for t, rss in self._samples if began <= t <= ended]
                stage["sampled_peak_rss_bytes"] = max([*inside, stage["rss_end_bytes"]])
        return [{k: v for k, v in s.items() if not k.startswith("_")} for s in self.stages]

    def _end(self) -> None:
        if self._name is None:
            return
        now = time.perf_counter()
        self.stages.append(
            {
                "stage": self._name,
                "seconds": now - self._wall,
                "cpu_seconds": time.process_time() - self._cpu,
                "rss_end_bytes": current_rss_bytes(),
                "peak_rss_so_far_bytes": peak_rss_bytes(),
                "_began": self._wall,
                "_ended": now,
            }
        )
        self._name = None

    def _start_sampler(self, interval: float) -> None:
        import threading

        import psutil

        process = psutil.Process()
        self._stop = threading.Event()

        def sample() -> None:
            while not self._stop.wait(interval):
                self._samples.append((time.perf_counter(), int(process.memory_info().rss)))

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()


def run_worker(task: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run `task` in a fresh interpreter (the one running the benchmarks) and return its JSON."""
    command = [sys.executable, "-m", "benchmarks._worker", task, json.dumps(args)]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise WorkerError(
            f"worker {task} failed (exit {done.returncode}):\n{done.stderr[-4000:]}{done.stdout}"
        )
    result: dict[str, Any] = json.loads(lines[-1])
    CONTENTION.extend(_readings(result))
    return result


def _readings(value: Any) -> list[float]:
    """Every `other_cores` number inside a worker's result."""
    if isinstance(value, dict):
        found = [float(value["other_cores"])] if "other_cores" in value else []
        return found + [x for v in value.values() for x in _readings(v)]
    if isinstance(value, list):
        return [x for v in value for x in _readings(v)]
    return []


def run_interleaved(
    ctx: Context,
    label: str,
    task: str,
    variants: dict[str, dict[str, Any]],
    runs: int,
    warmup: bool = True,
) -> dict[str, list[dict[str, Any]]]:
    """`runs` fresh-process measurements of each variant, interleaved (run 1 of every variant,
    then run 2, ...) so that a burst of load from elsewhere does not hit one variant only.
    One discarded run first warms the OS file cache."""
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    with ctx.console.status(f"{label}: warm-up") as status:
        if warmup:
            run_worker(task, next(iter(variants.values())))
        for i in range(runs):
            for name, args in variants.items():
                status.update(f"{label}: {name}, run {i + 1}/{runs}")
                results[name].append(run_worker(task, args))
    return results


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def peak_rss_bytes() -> int:
    """The peak resident set size of this process so far (Linux reports KiB)."""
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(usage * (1 if sys.platform == "darwin" else 1024))


def children_peak_rss_bytes() -> int:
    """The largest peak RSS of this process's finished (waited-for) subprocesses."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return int(usage * (1 if sys.platform == "darwin" else 1024))


def current_rss_bytes() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)
