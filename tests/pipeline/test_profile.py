"""PerformanceProfiler: one profile row per stage with wall/CPU time, peak memory and rows that
agree with the run record; a JSON file that round-trips; a table; the profiler unregisters
itself when the run fails; `cinefeat pipeline run --profile`."""

from __future__ import annotations

import json
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from cinefeat import FeatureStore
from cinefeat.errors import CinefeatError
from cinefeat.pipeline import (
    PerformanceProfiler,
    Pipeline,
    PipelineProfile,
    Stage,
    StageContext,
    StageReport,
)
from cinefeat.sources.synthetic import WorldConfig, generate_world, write_world
from tests.cli.test_cli import ok
from tests.pipeline.test_runner import add_crawls, add_ratings, make_repo

STAGES = ["data_validation", "feature_extraction", "feature_validation", "store"]


class ExplodingStage(Stage):
    """A whole-run step that fails (loaded by dotted path)."""

    def run(self, context: StageContext) -> StageReport:
        raise RuntimeError("boom")


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The layout `add_crawls` / `add_ratings` read, for a tiny world: two daily crawls and
    one MovieLens folder."""
    root = tmp_path_factory.mktemp("tiny_world")
    config = WorldConfig(
        movies=40, users=20, days=2, start=datetime(2024, 3, 1, tzinfo=UTC), seed=5
    )
    write_world(generate_world(config), root / "all")
    shutil.copytree(root / "all" / "movielens", root / "ratings" / "all")
    return root


def small_repo(tmp_path: Path, world: Path, mode: str = "processes", extra: str = "") -> Path:
    repo = make_repo(tmp_path, mode=mode, extra=extra)
    add_crawls(repo, world, range(1, 3))
    add_ratings(repo, world, "all")
    return repo


@pytest.mark.parametrize("mode", ["processes", "threads"])
def test_profile_of_a_run(tmp_path: Path, tiny_world: Path, mode: str) -> None:
    repo = small_repo(tmp_path, tiny_world, mode=mode)
    pipeline = Pipeline.from_file(repo / "pipeline.yaml", FeatureStore(repo))
    profile = PerformanceProfiler().profile_pipeline(pipeline)
    assert pipeline.observers == []
    assert not any(t.name == "cinefeat-profiler-rss" for t in threading.enumerate())

    record = pipeline.runs.get_run(profile.run_id)
    assert record.status == profile.status == "succeeded"
    assert (profile.pipeline, profile.workers, profile.mode) == ("daily", 2, mode)
    assert [s.name for s in profile.stages] == STAGES
    for stage, stage_record in zip(profile.stages, record.stages, strict=True):
        assert stage.wall_seconds > 0, stage.name
        assert stage.peak_mb > 0, stage.name
        assert stage.rows_read == stage_record.rows_read, stage.name
        assert stage.rows_written == stage_record.rows_written, stage.name
        assert stage.rows_quarantined == stage_record.rows_quarantined, stage.name
        expected = stage.rows_read / stage.wall_seconds if stage.rows_read else 0.0
        assert stage.rows_per_second == pytest.approx(expected)
    validation = profile.stage("data_validation")
    assert validation.cpu_seconds > 0 and validation.rows_read > 0
    assert validation.partitions == 3  # two crawls, one MovieLens folder
    if mode == "processes":
        assert validation.worker_cpu_seconds > 0 and 1 <= validation.workers <= 2
    else:  # the tasks ran in the parent: their CPU time is in the parent's, not added again
        assert validation.worker_cpu_seconds == 0 and validation.workers == 1
    assert validation.cpu_seconds == pytest.approx(
        validation.parent_cpu_seconds + validation.worker_cpu_seconds
    )

    totals = profile.totals
    assert totals.wall_seconds == pytest.approx(sum(s.wall_seconds for s in profile.stages))
    assert totals.cpu_seconds == pytest.approx(sum(s.cpu_seconds for s in profile.stages))
    assert totals.rows_read == sum(s.rows_read for s in profile.stages)
    assert totals.peak_rss_bytes == max(s.peak_rss_bytes for s in profile.stages)
    assert profile.run_seconds >= totals.wall_seconds

    path = profile.to_json(tmp_path / "out" / "profile.json")
    data = json.loads(path.read_text())
    assert data == profile.to_dict()
    assert set(data) == {"run_id", "pipeline", "status", "config", "run_seconds", "stages"} | {
        "totals"
    }
    assert data["config"] == {"workers": 2, "mode": mode}
    assert [s["name"] for s in data["stages"]] == STAGES
    assert data["stages"][0]["rows_read"] == record.stages[0].rows_read
    assert data["totals"]["wall_seconds"] == pytest.approx(
        sum(s["wall_seconds"] for s in data["stages"])
    )
    assert PipelineProfile.from_dict(data) == profile
    assert [p.name for p in path.parent.iterdir()] == ["profile.json"]  # no temp file left

    console = Console(record=True, width=200)
    console.print(profile.table())
    text = console.export_text()
    for expected_text in ("stage", "wall s", "CPU s", "peak MB", "rows/s", "partitions"):
        assert expected_text in text
    assert "data_validation" in text and "total" in text


def test_a_failing_run_unregisters_the_profiler(tmp_path: Path, tiny_world: Path) -> None:
    repo = small_repo(tmp_path, tiny_world, mode="threads")
    text = (repo / "pipeline.yaml").read_text()
    text = text.replace(
        "type: FeatureValidationStage", f"type: {__name__}.ExplodingStage"
    )  # the third stage fails, after two stages were profiled
    (repo / "pipeline.yaml").write_text(text)
    pipeline = Pipeline.from_file(repo / "pipeline.yaml", FeatureStore(repo))
    profiler = PerformanceProfiler()
    with pytest.raises(CinefeatError, match="boom"):
        profiler.profile_pipeline(pipeline)
    assert pipeline.observers == []
    assert not any(t.name == "cinefeat-profiler-rss" for t in threading.enumerate())
    # A failure before any stage (a missing input folder) unregisters it too.
    shutil.rmtree(repo / "raw" / "ratings")
    with pytest.raises(CinefeatError):
        profiler.profile_pipeline(pipeline)
    assert pipeline.observers == []


def test_cli_run_with_profile(tmp_path: Path, tiny_world: Path) -> None:
    repo = small_repo(tmp_path, tiny_world, mode="threads")
    out = ok("pipeline", "run", str(repo / "pipeline.yaml"), "--repo", str(repo), "--profile",
             cwd=tmp_path)  # fmt: skip
    assert "profile of run" in out and "CPU/wall" in out and "feature_extraction" in out
    written = [line for line in out.splitlines() if line.startswith("profile written to ")]
    assert len(written) == 1
    path = Path(written[0].removeprefix("profile written to ").strip())
    assert path.parent == repo / "data" / "pipelines" / "daily" / "profiles"
    data = json.loads(path.read_text())
    assert path.name == f"{data['run_id']}.json" and data["run_id"] in out
    assert [s["name"] for s in data["stages"]] == STAGES
