"""Materialization: the latest offline row per entity, packed and written to the online store.

The watermark of a view advances only after its online writes committed, so a crash in between
re-does work and never skips it. For managed views the watermark also records the Delta version
read: rows committed later with older event times (late data) are picked up by the next
incremental run instead of being lost behind the watermark.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from cinefeat.definitions import FeatureView
from cinefeat.offline import CREATED, TS, TableSnapshot, quote_ident
from cinefeat.online import CREATED_US, EVENT_US, VALUES, OnlineStore

__all__ = [
    "MaterializationResult",
    "MaterializationWindow",
    "latest_rows_sql",
    "new_files",
    "window_relation",
    "write_latest_rows",
]

CHUNK_ROWS = 50_000
ROWS = "__cf_rows"  # how many source rows each packed row was chosen from


@dataclass(frozen=True)
class MaterializationWindow:
    """Which source rows one view's run reads: event times in (start, end] (start None: from the
    beginning; `start_inclusive` for explicit ranges), plus rows of `late_files` (committed since
    the last run) up to `late_until`, whatever their event time."""

    start: datetime | None
    end: datetime
    start_inclusive: bool = False
    late_files: tuple[str, ...] = ()
    late_until: datetime | None = None


@dataclass(frozen=True)
class MaterializationResult:
    view: str
    table: str
    start: datetime | None
    end: datetime
    rows_read: int
    rows_written: int
    delta_version: int | None
    skipped: str | None = None  # why nothing was done, when nothing was

    def describe(self) -> str:
        if self.skipped:
            return f"{self.view}: {self.skipped}"
        start = self.start.isoformat() if self.start else "the beginning"
        if self.rows_read == 0:
            return f"{self.view}: no new rows between {start} and {self.end.isoformat()}"
        return (
            f"{self.view} ({self.table}): {self.rows_read:,} rows from {start} to "
            f"{self.end.isoformat()} -> {self.rows_written:,} entities online"
        )


def _packed_values(view: FeatureView) -> str:
    # Timestamps travel as epoch microseconds: JSON has no datetime, and ints decode fastest.
    parts = []
    for field in view.features:
        value = f"latest.{quote_ident(field.name)}"
        if field.dtype.is_timestamp:
            value = f"epoch_us({value})"
        parts.append(f"{quote_ident(field.name)} := {value}")
    return f"to_json(struct_pack({', '.join(parts)}))::VARCHAR"


def latest_rows_sql(view: FeatureView, relation: str) -> str:
    """One packed row per entity: the latest event (ties: latest created) among `relation`'s
    rows, with the count of rows it was chosen from."""
    keys = ", ".join(quote_ident(k) for k in view.join_keys)
    columns = [*view.feature_names, TS, CREATED]
    row = ", ".join(f"{quote_ident(c)} := {quote_ident(c)}" for c in columns)
    order = f"struct_pack(t := {TS}, c := coalesce({CREATED}, 'epoch'::TIMESTAMPTZ))"
    return (
        f"WITH grouped AS (SELECT {keys}, max_by(struct_pack({row}), {order}) AS latest, "
        f"count(*) AS n FROM ({relation}) GROUP BY {keys}) "
        f"SELECT {keys}, epoch_us(latest.{TS}) AS {EVENT_US}, "
        f"coalesce(epoch_us(latest.{CREATED}), 0) AS {CREATED_US}, "
        f"{_packed_values(view)} AS {VALUES}, n AS {ROWS} FROM grouped"
    )


def window_relation(
    window: MaterializationWindow, all_rows: str, late_rows: str | None
) -> tuple[str, dict[str, object]]:
    """The rows a window selects: `all_rows` (a scan of every file) inside the event-time range,
    plus `late_rows` (a scan of files committed since the watermark) up to `late_until`."""
    params: dict[str, object] = {"end": window.end}
    conditions = [f"{TS} <= $end"]
    if window.start is not None:
        conditions.append(f"{TS} {'>=' if window.start_inclusive else '>'} $start")
        params["start"] = window.start
    in_range = " AND ".join(conditions)
    relation = f"SELECT * FROM ({all_rows}) WHERE {in_range}"
    if late_rows is not None and window.late_until is not None:
        params["late_until"] = window.late_until
        relation += (
            f" UNION ALL SELECT * FROM ({late_rows}) WHERE {TS} <= $late_until AND NOT ({in_range})"
        )
    return relation, params


def write_latest_rows(
    connection: duckdb.DuckDBPyConnection,
    sql: str,
    params: dict[str, object],
    view: FeatureView,
    online: OnlineStore,
    on_chunk: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Stream the packed rows of `sql` into the online store in chunks (bounded memory).
    Returns (source rows read, entity rows written)."""
    reader = connection.sql(sql, params=params or None).to_arrow_reader(CHUNK_ROWS)
    rows_read = rows_written = 0
    for batch in reader:
        if batch.num_rows == 0:
            continue
        chunk = pa.Table.from_batches([batch])
        rows_read += int(pc.sum(chunk.column(ROWS)).as_py() or 0)
        rows_written += online.online_write_batch(view, chunk)
        if on_chunk is not None:
            on_chunk(batch.num_rows)
    return rows_read, rows_written


def new_files(current: TableSnapshot, previous: Sequence[str]) -> tuple[str, ...]:
    """Files committed since a watermark's Delta version (late data candidates)."""
    seen = set(previous)
    return tuple(f for f in current.files if f not in seen)
