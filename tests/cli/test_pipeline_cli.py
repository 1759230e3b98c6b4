"""`cinefeat pipeline ...` as a user runs it: dry run, run, runs, show, and watch mode picking
up a crawl that arrives while it polls (real processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cinefeat import FeatureStore
from tests.cli.test_cli import ok
from tests.helpers import SRC
from tests.pipeline.test_runner import add_crawls, add_ratings, make_repo, world_files

__all__ = ["world_files"]  # the fixture, used here by name


def test_dry_run_run_runs_and_show(tmp_path: Path, world_files: Path) -> None:
    repo = make_repo(tmp_path)
    add_crawls(repo, world_files, range(1, 3))
    add_ratings(repo, world_files, "early")
    plan = ok("pipeline", "run", "pipeline.yaml", "--dry-run", cwd=repo)
    assert "pipeline daily: 3 partition(s) to process" in plan
    assert "process movies@2024-03-01T06:00:00+00:00: new (1 file(s))" in plan
    assert not (repo / "data" / "offline").exists()  # a dry run writes nothing

    first = ok("pipeline", "run", "pipeline.yaml", cwd=repo)
    assert "succeeded" in first and "movie_statistical__v1" in first
    again = ok("pipeline", "run", "pipeline.yaml", cwd=repo)
    assert "nothing to do" in again
    add_crawls(repo, world_files, range(3, 4))
    plan = ok("pipeline", "run", "pipeline.yaml", "--dry-run", cwd=repo)
    assert "1 partition(s) to process" in plan and "skip " in plan and ": unchanged" in plan

    listing = ok("pipeline", "runs", cwd=repo)
    assert listing.count("daily") == 2 and "nothing_to_do" in listing and "succeeded" in listing
    run_id = FeatureStore(repo).registry.pipeline_runs().list_runs("daily")[-1].run_id
    shown = ok("pipeline", "show", run_id[:17], cwd=repo)
    assert f"run {run_id}" in shown and "data_validation" in shown and "sha256" in shown


def test_watch_mode_runs_when_a_crawl_arrives(tmp_path: Path, world_files: Path) -> None:
    repo = make_repo(tmp_path)
    add_crawls(repo, world_files, range(1, 2))
    add_ratings(repo, world_files, "early")
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200", "NO_COLOR": "1"}
    log = (tmp_path / "watch.log").open("w")
    command = ["pipeline", "run", "pipeline.yaml", "--watch", "--interval", "0.3"]
    watcher = subprocess.Popen(
        [sys.executable, "-m", "cinefeat", *command],
        cwd=repo,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    runs = FeatureStore(repo).registry.pipeline_runs()

    def wait_for_runs(count: int) -> None:
        deadline = time.monotonic() + 120
        while len([r for r in runs.list_runs("daily") if r.status == "succeeded"]) < count:
            assert watcher.poll() is None, (tmp_path / "watch.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "watch.log").read_text()
            time.sleep(0.2)

    try:
        wait_for_runs(1)
        add_crawls(repo, world_files, range(2, 3))
        wait_for_runs(2)
        newest = runs.list_runs("daily")[0]
        assert [Path(fp.path).name for fp in newest.inputs] == ["popular_2024-03-02T06-00.jsonl"]
    finally:
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=30) == 0
        log.close()
