"""Appending rows to a Delta table quickly: Parquet files written by pyarrow on threads, then
committed as add actions (with Delta file statistics) in one commit.

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
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable, Schema
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

__all__ = ["ROWS_PER_FILE", "append_files", "file_stats"]

ROWS_PER_FILE = 500_000  # big enough for efficient scans, small enough to write in parallel
_WRITERS = max(1, min(4, os.cpu_count() or 1))


def _stamp(value: datetime, round_up: bool) -> str:
    """A statistics timestamp: Delta keeps milliseconds, so a minimum is rounded down and a
    maximum up (a range that is too wide only skips fewer files; too narrow would skip rows)."""
    value = value.astimezone(UTC)
    floor = value.replace(microsecond=value.microsecond // 1000 * 1000)
    if round_up and floor != value:
        floor += timedelta(milliseconds=1)
    return floor.strftime("%Y-%m-%dT%H:%M:%S.") + f"{floor.microsecond // 1000:03d}Z"


def _bounds(column: pa.ChunkedArray) -> tuple[Any, Any] | None:
    """JSON-able (min, max) of a column, or None when the statistic would not be exact enough
    to skip files safely (strings may be truncated by readers; NaN and infinities have no JSON
    form; naive timestamps have no zone to state)."""
    kind = column.type
    usable = (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_date32(kind)
        or (pa.types.is_timestamp(kind) and kind.tz is not None)
    )
    if not usable or column.null_count == len(column):
        return None
    found = pc.min_max(column)
    low, high = found["min"].as_py(), found["max"].as_py()
    if pa.types.is_floating(kind):
        if not (math.isfinite(low) and math.isfinite(high)) or pc.any(pc.is_nan(column)).as_py():
            return None
        return low, high
    if pa.types.is_timestamp(kind):
        return _stamp(low, round_up=False), _stamp(high, round_up=True)
    if pa.types.is_date32(kind):
        return low.isoformat(), high.isoformat()
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


def _write_file(directory: Path, rows: pa.Table) -> AddAction:
    name = f"part-{uuid.uuid4()}-c000.snappy.parquet"
    path = directory / name
    pq.write_table(rows, path, compression="snappy")
    return AddAction(
        name,
        path.stat().st_size,
        {},
        int(time.time() * 1000),
        True,
        file_stats(rows),
    )


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
    path.mkdir(parents=True, exist_ok=True)
    slices = [rows.slice(start, ROWS_PER_FILE) for start in range(0, rows.num_rows, ROWS_PER_FILE)]
    with ThreadPoolExecutor(max_workers=min(_WRITERS, len(slices))) as writers:
        added = list(writers.map(lambda part: _write_file(path, part), slices))
    if existing is None:
        create_table_with_add_actions(
            str(path),
            Schema.from_arrow(rows.schema),
            added,
            mode="append",
            name=name,
            description=description,
        )
    else:
        actions: list[AddAction | RemoveAction] = [*added]
        existing.create_write_transaction(actions, mode="append", schema=existing.schema())
