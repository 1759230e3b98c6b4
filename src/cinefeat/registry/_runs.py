"""Pipeline bookkeeping in the registry: run records (see _run_records), the input files each
pipeline has processed (with fingerprints, for incremental runs) and per-partition checkpoints
(for resume)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, delete, insert, select, update

from cinefeat.errors import FeatureNotFoundError
from cinefeat.registry import _tables as t
from cinefeat.registry._run_records import (
    CLEAN_STATUSES,
    FINAL_STATUSES,
    RESUMABLE_STATUSES,
    FinalStatus,
    InputFingerprint,
    OutputRecord,
    RunRecord,
    StageRecord,
    fields_from_json,
    record_json,
)
from cinefeat.timeutil import as_utc

if TYPE_CHECKING:
    from cinefeat.registry._registry import Registry

__all__ = ["PipelineRuns"]


def _dump(value: Any) -> str:
    # Fails at write time on values JSON cannot hold, rather than storing something that
    # would come back different.
    return json.dumps(value, sort_keys=True, allow_nan=False)


def _now() -> datetime:
    return datetime.now(UTC)


def _new_run_id(now: datetime) -> str:
    """Sortable by start time to the second; the random suffix keeps ids unique."""
    return f"{as_utc(now):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


_RUNS = t.pipeline_runs
_RUN_COLUMNS = [column for column in _RUNS.c if column.name != "project"]


def _run_from_row(row: Any) -> RunRecord:
    """A RunRecord from a row of `_RUN_COLUMNS`."""
    return RunRecord(
        run_id=row.run_id,
        pipeline=row.pipeline,
        config_hash=row.config_hash,
        status=row.status,
        error=row.error,
        # SQLite hands back naive datetimes (UTC, as written); PostgreSQL aware ones in the
        # session's time zone. Both become UTC-aware.
        started_at=as_utc(row.started_at),
        finished_at=None if row.finished_at is None else as_utc(row.finished_at),
        **fields_from_json(json.loads(row.record)),
    )


class PipelineRuns:
    """Runs, processed inputs and checkpoints of the pipelines of one registry project.

    Every change is one transaction. Read-modify-write changes of a run record lock its row
    first (SQLite: the write lock BEGIN IMMEDIATE takes; PostgreSQL: SELECT ... FOR UPDATE), so
    stages updated concurrently by parallel workers never overwrite each other.
    """

    def __init__(self, registry: Registry) -> None:
        self.project = registry.project
        self._writer = registry._writer
        self._reader = registry._reader

    def _runs(self, *where: ColumnElement[bool]) -> Select[Any]:
        """Run rows of this project (matching `where`)."""
        return select(*_RUN_COLUMNS).where(_RUNS.c.project == self.project, *where)

    def _not_found(self, run_id: str) -> FeatureNotFoundError:
        return FeatureNotFoundError(f"pipeline run {run_id!r} is not in the registry")

    # -- runs -----------------------------------------------------------------------------

    def start_run(
        self,
        pipeline: str,
        config_hash: str,
        inputs: Iterable[InputFingerprint],
        skipped: Iterable[tuple[str, str]],
        stages: Iterable[StageRecord],
        options: dict[str, Any],
    ) -> RunRecord:
        """Record a new run, status "running"; returns it with its fresh run id."""
        now = _now()
        details = record_json(inputs, skipped, stages, (), options)
        with self._writer.begin() as conn:
            run_id = _new_run_id(now)
            conn.execute(
                insert(t.pipeline_runs).values(
                    project=self.project,
                    run_id=run_id,
                    pipeline=pipeline,
                    config_hash=config_hash,
                    status="running",
                    error=None,
                    started_at=now,
                    finished_at=None,
                    record=_dump(details),
                )
            )
            row = conn.execute(self._runs(_RUNS.c.run_id == run_id)).one()
        return _run_from_row(row)

    def update_stage(self, run_id: str, stage: StageRecord) -> RunRecord:
        """Replace the record of the stage named `stage.name` (it must be one of the run's)."""

        def change(run: RunRecord) -> RunRecord:
            names = [s.name for s in run.stages]
            if stage.name not in names:
                raise FeatureNotFoundError(
                    f"run {run_id!r} has no stage {stage.name!r} (its stages: {names})"
                )
            return replace(
                run, stages=tuple(stage if s.name == stage.name else s for s in run.stages)
            )

        return self._modify(run_id, change)

    def finish_run(self, run_id: str, status: FinalStatus, error: str | None = None) -> RunRecord:
        if status not in FINAL_STATUSES:
            raise ValueError(
                f"run {run_id!r}: status must be one of {FINAL_STATUSES}, got {status!r}"
            )
        now = _now()
        return self._modify(
            run_id, lambda run: replace(run, status=status, error=error, finished_at=now)
        )

    def reopen_run(self, run_id: str) -> RunRecord:
        """Mark an unfinished run as running again (it is being resumed); counts `resumes`."""

        def reopen(run: RunRecord) -> RunRecord:
            options = {**run.options, "resumes": int(run.options.get("resumes", 0)) + 1}
            return replace(run, status="running", error=None, finished_at=None, options=options)

        return self._modify(run_id, reopen)

    def _modify(
        self,
        run_id: str,
        change: Callable[[RunRecord], RunRecord],
        also: Callable[[Connection], None] | None = None,
    ) -> RunRecord:
        """Apply `change` to the run's record (its row locked), and `also` in the same
        transaction."""
        with self._writer.begin() as conn:
            mine = _RUNS.c.run_id == run_id
            row = conn.execute(self._runs(mine).with_for_update()).first()
            if row is None:
                raise self._not_found(run_id)
            run = change(_run_from_row(row))
            conn.execute(
                update(_RUNS)
                .where(_RUNS.c.project == self.project, mine)
                .values(
                    status=run.status,
                    error=run.error,
                    finished_at=run.finished_at,
                    record=_dump(
                        record_json(run.inputs, run.skipped, run.stages, run.outputs, run.options)
                    ),
                )
            )
            if also is not None:
                also(conn)
        return run

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id, or with the only id starting with it (ids are long to type)."""
        if not run_id:
            raise FeatureNotFoundError("no pipeline run id given")
        with self._reader.connect() as conn:
            row = conn.execute(self._runs(_RUNS.c.run_id == run_id)).first()
            if row is not None:
                return _run_from_row(row)
            # autoescape: a % or _ typed in the prefix is taken literally, not as a wildcard.
            prefixed = _RUNS.c.run_id.startswith(run_id, autoescape=True)
            matches = conn.execute(self._runs(prefixed).order_by(_RUNS.c.run_id).limit(11)).all()
        if not matches:
            raise self._not_found(run_id)
        if len(matches) > 1:
            ids = [m.run_id for m in matches[:10]]
            more = ", ..." if len(matches) > 10 else ""
            raise FeatureNotFoundError(
                f"pipeline run id {run_id!r} is ambiguous: it starts "
                f"{', '.join(ids)}{more}; give more of the id"
            )
        return _run_from_row(matches[0])

    def list_runs(self, pipeline: str | None = None, limit: int = 20) -> list[RunRecord]:
        """The latest `limit` runs (of one pipeline, or of all), newest first."""
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        query = self._runs() if pipeline is None else self._runs(_RUNS.c.pipeline == pipeline)
        query = query.order_by(_RUNS.c.started_at.desc(), _RUNS.c.run_id.desc()).limit(limit)
        with self._reader.connect() as conn:
            return [_run_from_row(row) for row in conn.execute(query)]

    def latest_unfinished(self, pipeline: str) -> RunRecord | None:
        """The latest run that is still "running" (or was killed) or "failed", unless a later
        run of the pipeline ended cleanly: that is the run --resume continues."""
        query = (
            self._runs(
                _RUNS.c.pipeline == pipeline,
                _RUNS.c.status.in_(RESUMABLE_STATUSES + CLEAN_STATUSES),
            )
            .order_by(_RUNS.c.started_at.desc(), _RUNS.c.run_id.desc())
            .limit(1)
        )
        with self._reader.connect() as conn:
            row = conn.execute(query).first()
        if row is None or row.status not in RESUMABLE_STATUSES:
            return None
        return _run_from_row(row)

    def latest_clean(self, pipeline: str) -> RunRecord | None:
        """The latest run that ended cleanly ("succeeded" or "nothing_to_do")."""
        query = (
            self._runs(_RUNS.c.pipeline == pipeline, _RUNS.c.status.in_(CLEAN_STATUSES))
            .order_by(_RUNS.c.started_at.desc(), _RUNS.c.run_id.desc())
            .limit(1)
        )
        with self._reader.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _run_from_row(row)

    # -- processed inputs -----------------------------------------------------------------

    def processed_inputs(self, pipeline: str) -> dict[tuple[str, str], InputFingerprint]:
        """Every input file the pipeline has processed, keyed by (input, path)."""
        inputs = t.pipeline_inputs
        query = select(
            inputs.c.input, inputs.c.path, inputs.c.size, inputs.c.mtime_ns, inputs.c.sha256
        ).where(inputs.c.project == self.project, inputs.c.pipeline == pipeline)
        with self._reader.connect() as conn:
            rows = conn.execute(query).all()
        return {
            (name, path): InputFingerprint(name, path, int(size), int(mtime_ns), sha256)
            for name, path, size, mtime_ns, sha256 in rows
        }

    def mark_processed(
        self,
        pipeline: str,
        run_id: str,
        fingerprints: Iterable[InputFingerprint],
        removed: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Record `fingerprints` as processed by `run_id` and forget the `removed` (input, path)
        keys, in one transaction: a run's outputs and its inputs' state never disagree."""
        by_key = {fp.key: fp for fp in fingerprints}  # a repeated key: the last one wins
        gone = set(removed)
        if both := sorted(gone & by_key.keys()):
            raise ValueError(f"inputs both processed and removed: {both}")
        inputs = t.pipeline_inputs
        now = _now()
        # Delete, then insert: a portable upsert (no dialect-specific ON CONFLICT), and atomic
        # because it is one transaction.
        forget = delete(inputs).where(
            inputs.c.project == self.project,
            inputs.c.pipeline == pipeline,
            inputs.c.input == bindparam("key_input"),
            inputs.c.path == bindparam("key_path"),
        )
        keys = [{"key_input": i, "key_path": p} for i, p in sorted(gone | by_key.keys())]
        rows = [
            dict(
                asdict(fp), project=self.project, pipeline=pipeline, run_id=run_id, processed_at=now
            )
            for _, fp in sorted(by_key.items())
        ]
        with self._writer.begin() as conn:
            if keys:
                conn.execute(forget, keys)
            if rows:
                conn.execute(insert(inputs), rows)

    # -- checkpoints ----------------------------------------------------------------------

    def checkpoint_step(
        self,
        run_id: str,
        stage: StageRecord,
        partition: str,
        output: dict[str, Any],
        outputs: Iterable[OutputRecord] = (),
    ) -> RunRecord:
        """In one transaction: record the checkpoint of (stage, partition), replace the stage's
        record and add `outputs`, so a crash never keeps one without the others (a resume would
        count rows twice, or list an output twice)."""
        checkpoints = t.pipeline_checkpoints
        key = {
            "project": self.project,
            "run_id": run_id,
            "stage": stage.name,
            "partition": partition,
        }
        text = _dump(output)

        def record_stage(run: RunRecord) -> RunRecord:
            stages = tuple(stage if s.name == stage.name else s for s in run.stages)
            if stage.name not in {s.name for s in run.stages}:
                stages += (stage,)
            return replace(run, stages=stages, outputs=run.outputs + tuple(outputs))

        def write_checkpoint(conn: Connection) -> None:
            # Delete, then insert (one transaction): a portable upsert.
            conn.execute(
                delete(checkpoints).where(*(checkpoints.c[k] == v for k, v in key.items()))
            )
            conn.execute(insert(checkpoints).values(**key, output=text, created_at=_now()))

        return self._modify(run_id, record_stage, write_checkpoint)

    def checkpoints(self, run_id: str) -> dict[tuple[str, str], dict[str, Any]]:
        """What each (stage, partition) of the run produced, as recorded by `checkpoint`."""
        checkpoints = t.pipeline_checkpoints
        query = select(checkpoints.c.stage, checkpoints.c.partition, checkpoints.c.output).where(
            checkpoints.c.project == self.project, checkpoints.c.run_id == run_id
        )
        with self._reader.connect() as conn:
            rows = conn.execute(query).all()
        return {(stage, partition): json.loads(output) for stage, partition, output in rows}
