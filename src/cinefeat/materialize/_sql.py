"""The SQL of materialization: which source rows a run reads, and the latest row per entity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from cinefeat.definitions import FeatureView
from cinefeat.offline import CREATED, TS
from cinefeat.packed import CREATED_US, EVENT_US, NULL_CREATED_US, VALUES, packed_values_sql
from cinefeat.sqltext import quote_ident

__all__ = [
    "CHUNK_ROWS",
    "MaterializationWindow",
    "OnlineWriter",
    "latest_rows_sql",
    "window_relation",
    "write_latest_rows",
]

CHUNK_ROWS = 50_000
ROWS = "__cf_rows"  # how many source rows each packed row was chosen from


class OnlineWriter(Protocol):
    """What materialization needs of an online store (see cinefeat.online.OnlineStore)."""

    def online_write_batch(self, view: FeatureView, rows: pa.Table) -> int: ...


@dataclass(frozen=True)
class MaterializationWindow:
    """Which source rows one view's run reads: event times in (start, end] (start None: from the
    beginning; `start_inclusive` for explicit ranges), plus every row of `late_files` (committed
    since the last incremental run) with an event time up to `start`."""

    start: datetime | None
    end: datetime
    start_inclusive: bool = False
    late_files: tuple[str, ...] = ()


def window_relation(
    window: MaterializationWindow, all_rows: str, late_rows: str | None
) -> tuple[str, dict[str, object]]:
    """The rows a window selects, from `all_rows` (a scan of every file) and `late_rows` (a
    scan of the late files only)."""
    params: dict[str, object] = {"end": window.end}
    conditions = [f"{TS} <= $end"]
    if window.start is not None:
        conditions.append(f"{TS} {'>=' if window.start_inclusive else '>'} $start")
        params["start"] = window.start
    in_range = " AND ".join(conditions)
    relation = f"SELECT * FROM ({all_rows}) WHERE {in_range}"
    if late_rows is not None and window.start is not None:
        relation += f" UNION ALL SELECT * FROM ({late_rows}) WHERE {TS} <= $start"
    return relation, params


def latest_rows_sql(view: FeatureView, relation: str) -> str:
    """One packed row per entity: the latest event (ties: latest created, as in point-in-time
    joins) among `relation`'s rows, with the count of rows it was chosen from."""
    keys = ", ".join(quote_ident(k) for k in view.join_keys)
    columns = [*view.feature_names, TS, CREATED]
    row = ", ".join(f"{quote_ident(c)} := {quote_ident(c)}" for c in columns)
    order = f"struct_pack(t := {TS}, c := coalesce({CREATED}, '-infinity'::TIMESTAMPTZ))"
    return (
        f"WITH grouped AS (SELECT {keys}, max_by(struct_pack({row}), {order}) AS latest, "
        f"count(*) AS n FROM ({relation}) GROUP BY {keys}) "
        f"SELECT {keys}, epoch_us(latest.{TS}) AS {EVENT_US}, "
        f"coalesce(epoch_us(latest.{CREATED}), {NULL_CREATED_US}) AS {CREATED_US}, "
        f"{packed_values_sql(view, 'latest')} AS {VALUES}, n AS {ROWS} FROM grouped"
    )


def write_latest_rows(
    connection: duckdb.DuckDBPyConnection,
    sql: str,
    params: dict[str, object],
    view: FeatureView,
    online: OnlineWriter,
    on_chunk: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Stream the packed rows of `sql` into the online store in chunks (bounded memory).
    Returns (source rows read, entity rows sent to the online store)."""
    reader = connection.sql(sql, params=params or None).to_arrow_reader(CHUNK_ROWS)
    rows_read = rows_sent = 0
    for batch in reader:
        if batch.num_rows == 0:
            continue
        chunk = pa.Table.from_batches([batch])
        rows_read += int(pc.sum(chunk.column(ROWS)).as_py() or 0)
        rows_sent += online.online_write_batch(view, chunk)
        if on_chunk is not None:
            on_chunk(batch.num_rows)
    return rows_read, rows_sent
