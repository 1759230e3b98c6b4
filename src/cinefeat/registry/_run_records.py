"""The records of pipeline runs (what a run processed, how each stage went, what it wrote) as
values, and their JSON form in the registry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from cinefeat.errors import FeatureNotFoundError
from cinefeat.timeutil import as_utc

__all__ = [
    "CLEAN_STATUSES",
    "FINAL_STATUSES",
    "RESUMABLE_STATUSES",
    "FinalStatus",
    "InputFingerprint",
    "OutputRecord",
    "RunRecord",
    "StageRecord",
    "fields_from_json",
    "record_json",
]

FinalStatus = Literal["succeeded", "failed", "nothing_to_do"]
FINAL_STATUSES = ("succeeded", "failed", "nothing_to_do")
# A run that ended cleanly supersedes every earlier unfinished one: there is nothing to resume.
CLEAN_STATUSES = ("succeeded", "nothing_to_do")
RESUMABLE_STATUSES = ("running", "failed")


@dataclass(frozen=True)
class InputFingerprint:
    """What an input file looked like: size and mtime (cheap to stat) and the content hash."""

    input: str
    path: str
    size: int
    mtime_ns: int
    sha256: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.input, self.path)


@dataclass(frozen=True)
class StageRecord:
    """Progress and row counts of one stage of a run."""

    name: str
    type: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    seconds: float = 0.0
    status: str = "pending"
    partitions_done: int = 0
    partitions_total: int = 0


@dataclass(frozen=True)
class OutputRecord:
    """A table a run wrote: the feature view (and version) it feeds, and the Delta commit."""

    view: str
    version: int | None
    table: str
    delta_version: int | None
    rows: int


@dataclass(frozen=True)
class RunRecord:
    """One pipeline run: what it was given, what it skipped, how each stage went, what it wrote.

    `inputs` are the files the run processes; `skipped` the (path, why) pairs it did not.
    `options` holds JSON values only (e.g. {"resume": bool, "resumed_from": str | None,
    "workers": int}): it is stored as JSON, so tuples would come back as lists.
    """

    run_id: str
    pipeline: str
    config_hash: str
    status: str
    error: str | None
    started_at: datetime
    finished_at: datetime | None
    inputs: tuple[InputFingerprint, ...]
    skipped: tuple[tuple[str, str], ...]
    stages: tuple[StageRecord, ...]
    outputs: tuple[OutputRecord, ...]
    options: dict[str, Any]

    @property
    def duration(self) -> timedelta | None:
        """How long the run took; None while it has not finished."""
        return None if self.finished_at is None else self.finished_at - self.started_at

    def stage(self, name: str) -> StageRecord:
        """The record of the stage called `name`."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise FeatureNotFoundError(f"run {self.run_id!r} has no stage {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO text in UTC, tuples as lists."""
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "config_hash": self.config_hash,
            "status": self.status,
            "error": self.error,
            "started_at": self.started_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            **record_json(self.inputs, self.skipped, self.stages, self.outputs, self.options),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """The inverse of `to_dict` (also of its JSON text, once parsed)."""
        finished = data["finished_at"]
        return cls(
            run_id=data["run_id"],
            pipeline=data["pipeline"],
            config_hash=data["config_hash"],
            status=data["status"],
            error=data["error"],
            started_at=as_utc(datetime.fromisoformat(data["started_at"])),
            finished_at=None if finished is None else as_utc(datetime.fromisoformat(finished)),
            **fields_from_json(data),
        )


def record_json(
    inputs: Iterable[InputFingerprint],
    skipped: Iterable[tuple[str, str]],
    stages: Iterable[StageRecord],
    outputs: Iterable[OutputRecord],
    options: dict[str, Any],
) -> dict[str, Any]:
    """The part of a run record that is stored as JSON (the rest has columns)."""
    return {
        "inputs": [asdict(item) for item in inputs],
        "skipped": [[path, why] for path, why in skipped],
        "stages": [asdict(stage) for stage in stages],
        "outputs": [asdict(output) for output in outputs],
        "options": dict(options),
    }


def fields_from_json(data: dict[str, Any]) -> dict[str, Any]:
    """The inverse of `_details`: JSON lists back to tuples of records."""
    return {
        "inputs": tuple(InputFingerprint(**item) for item in data["inputs"]),
        "skipped": tuple((str(path), str(why)) for path, why in data["skipped"]),
        "stages": tuple(
            StageRecord(**{**item, "reads": tuple(item["reads"]), "writes": tuple(item["writes"])})
            for item in data["stages"]
        ),
        "outputs": tuple(OutputRecord(**item) for item in data["outputs"]),
        "options": dict(data["options"]),
    }
