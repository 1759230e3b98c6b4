"""Appending rows to a Delta table quickly: Parquet files written by pyarrow on threads (or
ahead of time, by pipeline workers: staged files), then committed as add actions (with Delta
file statistics) in one commit.

delta-rs' own writer encodes Parquet on one core at about a third of pyarrow's speed; appends
are the bulk of every load and pipeline run. Files written but never committed (a crash before
the commit) are not part of any table version: readers never see them, and `vacuum` removes
them.
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable, Schema
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from cinefeat.definitions import FeatureView
from cinefeat.errors import CinefeatError
from cinefeat.offline._conform import conform_to_view

__all__ = [
    "ROWS_PER_FILE",
    "StagedFiles",
    "append_files",
    "commit_data_files",
    "committed_names",
    "discard_uncommitted",
    "file_stats",
    "stage_rows",
    "staged_paths",
    "write_data_files",
]

ROWS_PER_FILE = 500_000  # big enough for efficient scans, small enough to write in parallel
_WRITERS = max(1, min(4, os.cpu_count() or 1))


_UNIT_MICROS = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": None}  # ns: divide by 1,000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _stamp(value: int, unit: str, round_up: bool) -> str | None:
    """A statistics timestamp from a raw timestamp value. Delta keeps milliseconds, so a
    minimum is rounded down and a maximum up (a range too wide only skips fewer files; too
    narrow would skip rows). None when the time has no ISO form (outside years 1-9999)."""
    scale = _UNIT_MICROS[unit]
    micros = (
        value * scale if scale is not None else -(-value // 1000) if round_up else value // 1000
    )
    millis = -(-micros // 1000) if round_up else micros // 1000
    try:
        moment = _EPOCH + timedelta(milliseconds=millis)
    except OverflowError:
        return None
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def _date(value: int) -> str | None:
    try:
        moment = date(1970, 1, 1) + timedelta(days=value)
    except OverflowError:
        return None
    return f"{moment.year:04d}-{moment:%m-%d}"


def _bounds(column: pa.ChunkedArray) -> tuple[Any, Any] | None:
    """JSON-able (min, max) of a column, or None when the statistic would not be exact enough
    to skip files safely (strings may be truncated by readers; NaN and infinities have no JSON
    form; naive timestamps have no zone to state; some times have no ISO form)."""
    kind = column.type
    usable = (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_date32(kind)
        or (pa.types.is_timestamp(kind) and kind.tz is not None)
    )
    if not usable or column.null_count == len(column):
        return None
    if pa.types.is_timestamp(kind) or pa.types.is_date32(kind):
        # As integers: Python's datetime cannot hold every value Arrow can.
        raw = pc.min_max(column.cast(pa.int64() if kind.bit_width == 64 else pa.int32()))
        low_raw, high_raw = raw["min"].as_py(), raw["max"].as_py()
        if pa.types.is_date32(kind):
            low, high = _date(low_raw), _date(high_raw)
        else:
            low = _stamp(low_raw, kind.unit, round_up=False)
            high = _stamp(high_raw, kind.unit, round_up=True)
        return None if low is None or high is None else (low, high)
    found = pc.min_max(column)
    low, high = found["min"].as_py(), found["max"].as_py()
    if pa.types.is_floating(kind) and (
        not (math.isfinite(low) and math.isfinite(high)) or pc.any(pc.is_nan(column)).as_py()
    ):
        return None
    return low, high


def file_stats(table: pa.Table) -> str:
    """Delta's per-file statistics (JSON): the row count, null counts of the top-level columns,
    and min/max where they are exact (see `_bounds`)."""
    minimum: dict[str, Any] = {}
    maximum: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_nested(column.type):
            continue
        nulls[name] = column.null_count
        if (bounds := _bounds(column)) is not None:
            minimum[name], maximum[name] = bounds
    return json.dumps(
        {
            "numRecords": table.num_rows,
            "minValues": minimum,
            "maxValues": maximum,
            "nullCount": nulls,
        }
    )


def _write_file(directory: Path, rows: pa.Table, name: str) -> AddAction:
    path = directory / name
    pq.write_table(rows, path, compression="snappy")
    return AddAction(name, path.stat().st_size, {}, int(time.time() * 1000), True, file_stats(rows))


def write_data_files(path: Path, rows: pa.Table, stem: str | None = None) -> list[AddAction]:
    """Write `rows` (in the table's storage schema) as Parquet data files of the Delta table at
    `path`, on threads, without committing them: the add actions to commit. Files are named
    from `stem` when given (writing the same stem again overwrites them), else at random."""
    path.mkdir(parents=True, exist_ok=True)
    slices = [rows.slice(start, ROWS_PER_FILE) for start in range(0, rows.num_rows, ROWS_PER_FILE)]
    stem = stem or str(uuid.uuid4())
    names = [f"part-{stem}-{number:05d}-c000.snappy.parquet" for number in range(len(slices))]
    with ThreadPoolExecutor(max_workers=max(1, min(_WRITERS, len(slices)))) as writers:
        return list(writers.map(_write_file, [path] * len(slices), slices, names))


def commit_data_files(
    path: Path,
    existing: DeltaTable | None,
    added: list[AddAction],
    schema: pa.Schema,
    *,
    name: str,
    description: str | None,
) -> None:
    """Commit data files written by `write_data_files` to the table at `path` in one append,
    creating the table (with `schema`, `name` and `description`) when `existing` is None."""
    if existing is None:
        create_table_with_add_actions(
            str(path),
            Schema.from_arrow(schema),
            added,
            mode="append",
            name=name,
            description=description,
        )
    else:
        actions: list[AddAction | RemoveAction] = [*added]
        existing.create_write_transaction(actions, mode="append", schema=existing.schema())


def append_files(
    path: Path,
    existing: DeltaTable | None,
    rows: pa.Table,
    *,
    name: str,
    description: str | None,
) -> None:
    """Append `rows` (already in the table's storage schema) to the Delta table at `path` in
    one commit, creating the table (with `name` and `description`) when `existing` is None."""
    added = write_data_files(path, rows)
    commit_data_files(path, existing, added, rows.schema, name=name, description=description)


@dataclass(frozen=True)
class StagedFiles:
    """Data files written ahead of their commit (by a pipeline worker), JSON-able: a parent
    process commits them, with other rows, in one replacement (`replace_rows(staged=...)`)."""

    table: str
    files: tuple[dict[str, Any], ...]  # AddAction fields
    rows: int

    def actions(self) -> list[AddAction]:
        return [AddAction(**f) for f in self.files]

    def paths(self, root: Path) -> list[Path]:
        return [root / self.table / f["path"] for f in self.files]

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "files": list(self.files), "rows": self.rows}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StagedFiles:
        return cls(data["table"], tuple(data["files"]), int(data["rows"]))


def stage_rows(view: FeatureView, root: Path, rows: pa.Table, stem: str) -> StagedFiles:
    """Check `rows` against the view (as a write does) and write them as uncommitted data
    files of its table under the offline store `root`, named from `stem`: a retry of the same
    work with the same stem overwrites what a killed attempt left, never adds to it."""
    conformed = conform_to_view(view, rows, datetime.now(UTC))
    table = root / view.table_name
    added = write_data_files(table, conformed, stem) if conformed.num_rows else []
    return StagedFiles(view.table_name, tuple(asdict(a) for a in added), conformed.num_rows)


def staged_paths(view: FeatureView, staged: Sequence[StagedFiles], root: Path) -> list[str]:
    """The files of `staged`, checked to belong to the view's table and to exist (a breaking
    change applied since they were written moves the view to a new table)."""
    wrong = sorted({part.table for part in staged} - {view.table_name})
    if wrong:
        raise CinefeatError(
            f"feature view {view.name!r} is stored in {view.table_name}, but files were staged "
            f"for {wrong} (the view changed since they were written); write the rows again"
        )
    paths = [path for part in staged for path in part.paths(root)]
    if missing := [str(path) for path in paths if not path.is_file()]:
        raise CinefeatError(
            f"{len(missing)} staged file(s) of {view.table_name} are gone (e.g. {missing[0]}); "
            "write the rows again"
        )
    return [str(path) for path in paths]


def committed_names(table: DeltaTable | None) -> set[str]:
    """The data file names of a table version."""
    return {Path(uri).name for uri in table.file_uris()} if table is not None else set()


def discard_uncommitted(files: Sequence[str], held: set[str]) -> None:
    """Delete staged files whose rows were read back and committed in other files, except
    those a table version held (`held`: committed by an earlier attempt; kept for time
    travel)."""
    for file in files:
        if Path(file).name not in held:
            Path(file).unlink(missing_ok=True)
