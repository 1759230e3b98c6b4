"""Pipeline runs in the registry: run records round-trip, lookups by id prefix, processed inputs
change in one transaction, checkpoints are idempotent, projects are isolated."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import event

from cinefeat.errors import FeatureNotFoundError
from cinefeat.registry import (
    InputFingerprint,
    OutputRecord,
    PipelineRuns,
    Registry,
    RunRecord,
    StageRecord,
)

INGEST = StageRecord("ingest", "ingest", ("tmdb",), ("movies",), partitions_total=2)
FEATURES = StageRecord("features", "transform", ("movies",), ("movie_stats",))
FP_A = InputFingerprint("tmdb", "data/a.json", 10, 1_700_000_000_123_456_789, "a" * 64)
FP_B = InputFingerprint("tmdb", "data/b.json", 20, 1_700_000_000_000_000_001, "b" * 64)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    registry = Registry(f"sqlite:///{tmp_path}/registry.db", "proj")
    yield registry
    registry.close()


@pytest.fixture
def runs(registry: Registry) -> PipelineRuns:
    return registry.pipeline_runs()


def start(runs: PipelineRuns, pipeline: str = "movies", **options: object) -> RunRecord:
    return runs.start_run(
        pipeline,
        "c" * 64,
        [FP_A, FP_B],
        [("data/notes.txt", "not a JSON file")],
        [INGEST, FEATURES],
        {"resume": False, "resumed_from": None, "workers": 4, **options},
    )


def test_a_run_record_round_trips(runs: PipelineRuns) -> None:
    run = start(runs)
    assert re.fullmatch(r"\d{8}T\d{6}-[0-9a-f]{8}", run.run_id)
    assert run.status == "running" and run.finished_at is None and run.duration is None
    assert run.started_at.tzinfo is not None and run.started_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert run.inputs == (FP_A, FP_B)
    assert run.skipped == (("data/notes.txt", "not a JSON file"),)
    assert run.stages == (INGEST, FEATURES)
    assert run.options == {"resume": False, "resumed_from": None, "workers": 4}

    done = replace(INGEST, rows_read=7, seconds=1.25, status="done", partitions_done=2)
    runs.update_stage(run.run_id, done)
    outputs = [
        OutputRecord("movie_stats", 3, "movie_stats__v3", 12, 100),
        OutputRecord("_quarantine", None, "_quarantine", None, 2),
    ]
    runs.checkpoint_step(run.run_id, done, "p1", {}, outputs[:1])
    runs.checkpoint_step(run.run_id, done, "_all", {}, outputs[1:])
    finished = runs.finish_run(run.run_id, "failed", error="boom\nat line 3")

    loaded = runs.get_run(run.run_id)
    assert loaded == finished
    assert loaded.status == "failed" and loaded.error == "boom\nat line 3"
    assert loaded.stages == (done, FEATURES)
    assert loaded.outputs == tuple(outputs)
    assert loaded.started_at == run.started_at  # microseconds survive the database
    assert loaded.finished_at is not None and loaded.finished_at.tzinfo is not None
    assert loaded.duration is not None and loaded.duration.total_seconds() >= 0
    # The dict form is JSON text and back, exactly.
    assert RunRecord.from_dict(json.loads(json.dumps(loaded.to_dict()))) == loaded
    assert loaded.to_dict()["started_at"].endswith("+00:00")


def test_update_stage_replaces_only_that_stage(runs: PipelineRuns) -> None:
    run = start(runs)
    first = StageRecord("features", "transform", ("movies",), ("movie_stats",), rows_read=1)
    second = StageRecord("features", "transform", ("movies",), ("x",), rows_read=2, status="done")
    runs.update_stage(run.run_id, first)
    runs.update_stage(run.run_id, second)
    assert runs.get_run(run.run_id).stages == (INGEST, second)
    with pytest.raises(FeatureNotFoundError, match="has no stage 'nope'"):
        runs.update_stage(run.run_id, StageRecord("nope", "x", (), ()))


def test_changes_to_an_unknown_run_fail(runs: PipelineRuns) -> None:
    with pytest.raises(FeatureNotFoundError, match="'missing' is not in the registry"):
        runs.finish_run("missing", "succeeded")
    with pytest.raises(FeatureNotFoundError, match="'missing'"):
        runs.checkpoint_step("missing", INGEST, "p1", {})
    run = start(runs)
    with pytest.raises(ValueError, match="status must be one of"):
        runs.finish_run(run.run_id, "done")  # type: ignore[arg-type]


def test_list_runs_newest_first_with_limit(runs: PipelineRuns) -> None:
    ids = [start(runs, "movies" if i % 2 == 0 else "users").run_id for i in range(5)]
    assert [r.run_id for r in runs.list_runs()] == ids[::-1]
    assert [r.run_id for r in runs.list_runs(limit=2)] == ids[:-3:-1]
    assert [r.run_id for r in runs.list_runs("movies")] == [ids[4], ids[2], ids[0]]
    assert [r.run_id for r in runs.list_runs("users", limit=1)] == [ids[3]]
    assert runs.list_runs("nothing") == [] and runs.list_runs(limit=0) == []


def test_get_run_by_unique_prefix(runs: PipelineRuns) -> None:
    run = start(runs)
    assert runs.get_run(run.run_id[:18]) == run  # timestamp plus part of the random suffix


def test_get_run_ambiguous_and_unknown(runs: PipelineRuns) -> None:
    first, second = start(runs), start(runs)
    common = first.run_id[:4]  # the year: shared by both
    with pytest.raises(FeatureNotFoundError, match="ambiguous") as info:
        runs.get_run(common)
    assert first.run_id in str(info.value) and second.run_id in str(info.value)
    with pytest.raises(FeatureNotFoundError, match="'1999' is not in the registry"):
        runs.get_run("1999")
    with pytest.raises(FeatureNotFoundError):
        runs.get_run("")
    # LIKE wildcards in a prefix are taken literally.
    with pytest.raises(FeatureNotFoundError, match="not in the registry"):
        runs.get_run("%")


def test_latest_unfinished(runs: PipelineRuns) -> None:
    assert runs.latest_unfinished("movies") is None
    ok = start(runs)
    runs.finish_run(ok.run_id, "succeeded")
    assert runs.latest_unfinished("movies") is None
    failed = start(runs)
    runs.finish_run(failed.run_id, "failed", "boom")
    assert runs.latest_unfinished("movies") == runs.get_run(failed.run_id)
    killed = start(runs)  # never finished: the process died
    assert runs.latest_unfinished("movies") == killed
    assert runs.latest_unfinished("users") is None
    later = start(runs)
    runs.finish_run(later.run_id, "succeeded")
    assert runs.latest_unfinished("movies") is None  # superseded
    nothing = start(runs)
    runs.finish_run(nothing.run_id, "nothing_to_do")
    assert runs.latest_unfinished("movies") is None


def test_processed_inputs_upsert_and_delete(registry: Registry, runs: PipelineRuns) -> None:
    assert runs.processed_inputs("movies") == {}
    runs.mark_processed("movies", "run1", [FP_A, FP_B])
    assert runs.processed_inputs("movies") == {FP_A.key: FP_A, FP_B.key: FP_B}
    changed = InputFingerprint("tmdb", "data/a.json", 11, 5, "d" * 64)
    new = InputFingerprint("ml", "ratings.csv", 1, 2, "e" * 64)
    runs.mark_processed("movies", "run2", [changed, new], removed=[FP_B.key])
    assert runs.processed_inputs("movies") == {FP_A.key: changed, new.key: new}
    assert runs.processed_inputs("other") == {}

    with pytest.raises(ValueError, match="both processed and removed"):
        runs.mark_processed("movies", "run3", [FP_B], removed=[FP_B.key])

    # All of it in one transaction: a failure half-way leaves everything as it was.
    def fail_inserts(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("INSERT INTO cinefeat_pipeline_inputs"):
            raise RuntimeError("disk full")

    engine = registry._writer
    event.listen(engine, "before_cursor_execute", fail_inserts)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            runs.mark_processed("movies", "run3", [FP_B], removed=[FP_A.key, new.key])
    finally:
        event.remove(engine, "before_cursor_execute", fail_inserts)
    assert runs.processed_inputs("movies") == {FP_A.key: changed, new.key: new}


def test_checkpoints_are_idempotent(runs: PipelineRuns) -> None:
    run, other = start(runs), start(runs)
    assert runs.checkpoints(run.run_id) == {}
    runs.checkpoint_step(run.run_id, INGEST, "tmdb@2024-01-01", {"rows": 3, "files": ["a.parquet"]})
    runs.checkpoint_step(run.run_id, INGEST, "tmdb@2024-01-01", {"rows": 4, "files": ["b.parquet"]})
    runs.checkpoint_step(run.run_id, INGEST, "tmdb@2024-01-02", {"rows": 5})
    runs.checkpoint_step(other.run_id, INGEST, "tmdb@2024-01-01", {"rows": 9})
    assert runs.checkpoints(run.run_id) == {
        ("ingest", "tmdb@2024-01-01"): {"rows": 4, "files": ["b.parquet"]},
        ("ingest", "tmdb@2024-01-02"): {"rows": 5},
    }
    with pytest.raises(ValueError):  # NaN is not JSON
        runs.checkpoint_step(run.run_id, INGEST, "p", {"x": float("nan")})


def test_projects_are_isolated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/registry.db"
    one, two = Registry(url, "one").pipeline_runs(), Registry(url, "two").pipeline_runs()
    run = start(one)
    one.mark_processed("movies", run.run_id, [FP_A])
    one.checkpoint_step(run.run_id, INGEST, "p", {"rows": 1})
    assert two.list_runs() == [] and two.latest_unfinished("movies") is None
    assert two.processed_inputs("movies") == {}
    assert two.checkpoints(run.run_id) == {}
    with pytest.raises(FeatureNotFoundError):
        two.get_run(run.run_id)
    with pytest.raises(FeatureNotFoundError):
        two.finish_run(run.run_id, "succeeded")
    assert one.get_run(run.run_id) == run


def test_a_registry_from_before_pipelines_gains_the_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/registry.db"
    Registry(url, "proj").close()
    with sqlite3.connect(tmp_path / "registry.db") as conn:
        for table in ("inputs", "runs", "checkpoints"):
            conn.execute(f"DROP TABLE cinefeat_pipeline_{table}")
    registry = Registry(url, "proj")  # as if opened by a newer cinefeat
    runs = registry.pipeline_runs()
    run = start(runs)
    runs.checkpoint_step(run.run_id, INGEST, "p", {})
    runs.mark_processed("movies", run.run_id, [FP_A])
    assert runs.list_runs() == [run]
    registry.close()


def test_the_dict_form_reads_any_offset_as_utc() -> None:
    start = datetime(2024, 1, 1, 12, tzinfo=UTC)
    record = RunRecord("r", "p", "h", "succeeded", None, start, start, (), (), (), (), {})
    data = record.to_dict()
    assert RunRecord.from_dict(data) == record
    data["started_at"] = start.astimezone(timezone(timedelta(hours=2))).isoformat()
    parsed = RunRecord.from_dict(data)
    assert parsed.started_at == start and parsed.started_at.tzinfo == UTC
    assert parsed.duration == timedelta(0)
