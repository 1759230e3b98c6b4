"""Where partition work runs: worker processes (spawned, one Polars and one DuckDB thread
each, dying with their parent) or the parent itself; errors name the stage and partition."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from cinefeat.errors import CinefeatError
from cinefeat.pipeline._config import ExecutionConfig
from cinefeat.pipeline._partitions import Partition
from cinefeat.pipeline._stage import Datasets, Stage

__all__ = ["WorkerPool", "partition_results"]


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


class WorkerPool:
    """The worker processes of one run, started when a stage first needs them and shared by
    every stage after it (spawning imports cinefeat, Polars and DuckDB anew: a second of CPU
    per worker)."""

    def __init__(self, execution: ExecutionConfig) -> None:
        self.workers = execution.workers
        self._pool: ProcessPoolExecutor | None = None

    def submit(
        self, stage: Stage, todo: list[Partition], work: str
    ) -> dict[Future[dict[str, Any]], Partition]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=get_context("spawn"), initializer=_worker_init
            )
        # Workers are spawned as tasks arrive: the environment they inherit is set meanwhile.
        with _single_threaded_children():
            return {self._pool.submit(_process_partition, stage, p, work): p for p in todo}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def partition_results(
    stage: Stage, todo: list[Partition], work_root: Path, pool: WorkerPool | None
) -> Iterator[tuple[Partition, dict[str, Any]]]:
    """Run `stage.process_partition` over `todo` and yield each partition's stats, in
    order: on the pool's worker processes, or in this process when there is no pool ("threads"
    mode: Polars and DuckDB spread each partition's work over their threads)."""
    work = str(work_root)
    if not todo:
        return
    if pool is None:
        for partition in todo:
            try:
                stats = _process_partition(stage, partition, work)
            except Exception as exc:
                raise _partition_error(stage, partition, exc) from exc
            yield partition, stats
        return
    futures = pool.submit(stage, todo, work)
    try:
        # In submission order, so checkpoints (and a resume) follow the partition order.
        for future, partition in futures.items():
            yield partition, _result(stage, partition, future)
    except BaseException:
        # Do not wait for the queued partitions: the run stops here (resumable).
        for future in futures:
            future.cancel()
        raise
