"""Compiling a view's Aggregations to DuckDB: events in, one row per entity per day boundary out.

Rows are emitted at each midnight (UTC) where some aggregate of an entity changes: the end of
every day with events, and the day an event leaves each window. Between two rows nothing
changes, so a point-in-time join of the latest row at or before time t gives the exact values
as of t's day boundary.

How it stays linear: events are reduced to per-day partials (count, sum, sum of squares, min,
max), per entity, and for grouped aggregations per entity and group value (one row per value,
not one column per value); running totals of the partials are taken once; the value of a
window W at boundary b is then total(b) - total(b - W), two ASOF lookups into the running
totals. Only a windowed min or max, which does not subtract, uses a RANGE window instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from cinefeat.definitions import Aggregation, FeatureView
from cinefeat.duck import connect
from cinefeat.errors import DefinitionError
from cinefeat.sqltext import quote_ident
from cinefeat.timeutil import to_micros
from cinefeat.transforms._aggregate_sql import (
    DAY_US,
    WANTS,
    Term,
    daily_sql,
    grouped_sql,
    result_sql,
    terms,
    windows,
)

__all__ = ["CompiledAggregations", "aggregate_events", "compile_aggregations"]


@dataclass(frozen=True)
class CompiledAggregations:
    """A view's aggregations as DuckDB queries, with Polars steps in between.

    `daily_sql` reduces events to per-day partials (registered as `cf_daily`); each of
    `grouped_sqls` does the same per group value; `running_totals` adds the partials up per
    entity (`cf_running`); `matched` builds the boundary grid and finds the running-total rows
    each boundary uses (`cf_matched`); `result_sql(parts)` computes the outputs. The two middle
    steps run in Polars because they measured several times faster there than in DuckDB
    (running sums of 85 columns over 766k rows: 0.5 s against 4.4 s; four ASOF lookups over
    1.6M boundaries: 0.4 s against 2.5 s).
    """

    keys: tuple[str, ...]
    terms: tuple[Term, ...]
    partials: tuple[tuple[str, str], ...]  # (key, partial) of daily_sql's columns
    daily_sql: str
    grouped_sqls: tuple[tuple[str, dict[Any, str], str], ...]  # (column key prefix, groups, sql)
    types: dict[str, str]  # output -> DuckDB type of its field

    def result_sql(self, parts: int = 1) -> str:
        return result_sql(self.keys, self.terms, parts, self.types)

    def matched(self, daily: pl.DataFrame, first: int | None, last: int | None) -> pl.DataFrame:
        """The boundary grid (every day end with events, and each day an event leaves a
        window; day numbers in [first, last], `last` defaulting to the last day with events),
        with the running-total row each boundary and each window's start uses. ASOF joins in
        Polars: several times faster here than DuckDB's for this shape."""
        keys = list(self.keys)
        every, subtracted = windows(self.terms)
        stamps = daily.select(*keys, "__b")
        grid = pl.concat([stamps, *(stamps.with_columns(pl.col("__b") + d) for d in every)])
        bounds = pl.col("__b") <= (daily["__b"].max() if last is None else last)
        if first is not None:
            bounds &= pl.col("__b") >= first
        grid = grid.filter(bounds).unique().sort([*keys, "__b"])
        lookup = stamps.sort([*keys, "__b"])
        matched = grid.join_asof(
            lookup.with_columns(pl.col("__b").alias("__bt")),
            on="__b",
            by=keys,
            check_sortedness=False,
        )
        for d in subtracted:
            probe = matched.with_columns((pl.col("__b") - d).alias("__probe"))
            found = lookup.with_columns(pl.col("__b").alias(f"__b{d}")).rename({"__b": "__probe"})
            matched = probe.join_asof(found, on="__probe", by=keys, check_sortedness=False).drop(
                "__probe"
            )
        return matched

    def running_totals(self, daily: pl.DataFrame, grouped: list[pl.DataFrame]) -> pl.DataFrame:
        """Running totals per entity of the partials of `daily` (sorted by entity and day) and
        of the grouped partials (`grouped_sqls` results, positioned by daily's row)."""
        keys = list(self.keys)
        names = []
        for frame, (prefix, groups, _) in zip(grouped, self.grouped_sqls, strict=True):
            wide = _scatter(daily.height, frame, prefix, list(groups.values()))
            daily = daily.hstack(wide)
            names += wide.columns
        return daily.with_columns(
            *(_running(key, partial).over(keys) for key, partial in self.partials),
            pl.col(names).cum_sum().over(keys),
        )


def _partial_name(partial: str, key: str) -> str:
    return f"__{partial}_{key}"


def _running(key: str, partial: str) -> pl.Expr:
    value = pl.col(_partial_name(partial, key))
    # A day without values has NULL partials: they add nothing to a running sum, and a
    # running min or max carries the last value forward.
    if partial in ("lo", "hi"):
        extreme = value.cum_min() if partial == "lo" else value.cum_max()
        return extreme.forward_fill()
    return value.fill_null(0).cum_sum()


def _scatter(height: int, long: pl.DataFrame, prefix: str, suffixes: list[str]) -> pl.DataFrame:
    """Grouped day partials (one row per entity, day and group, with the entity-day's row in
    the sorted daily frame) as columns of that frame: one column per partial and group. A
    numpy scatter per partial: a pivot is several times slower for millions of rows."""
    partials = [c for c in long.columns if c not in ("__row", "__grp")]
    position = long["__row"].to_numpy()
    group = long["__grp"].to_numpy()
    columns: dict[str, np.ndarray] = {}
    for partial in partials:
        values = long[partial].fill_null(0).to_numpy()
        # Group-major, so each group's column is contiguous and Polars takes it without a copy.
        grid = np.zeros((len(suffixes), height), dtype=values.dtype)
        grid[group, position] = values
        for i, suffix in enumerate(suffixes):
            columns[_partial_name(partial, f"{prefix}{suffix}")] = grid[i]
    return pl.DataFrame(columns)


def compile_aggregations(
    view: FeatureView,
    events: str,
    timestamp_column: str,
    derived: Mapping[str, str] | None = None,
    list_columns: frozenset[str] = frozenset(),
) -> CompiledAggregations:
    """Compile `view`'s aggregations over the relation `events` (join keys,
    `timestamp_column` and the aggregated columns; `derived` adds columns computed from it,
    name -> SQL expression; `list_columns` names the group_by columns that hold lists)."""
    if not view.aggregations:
        raise DefinitionError(f"FeatureView {view.name!r} declares no aggregations")
    all_terms = terms(view.aggregations)
    keys = tuple(view.join_keys)
    daily, partials = daily_sql(keys, all_terms, events, timestamp_column, derived or {})
    grouped = tuple(
        (
            f"{column}__{group_by}__",
            groups,
            grouped_sql(
                keys,
                column,
                group_by,
                groups,
                partials_needed,
                events,
                timestamp_column,
                derived or {},
                group_by in list_columns,
            ),
        )
        for (column, group_by), (groups, partials_needed) in _grouped(view.aggregations).items()
    )
    types = {f.name: f.dtype.duckdb_type for f in view.features}
    return CompiledAggregations(keys, all_terms, partials, daily, grouped, types)


def _grouped(
    aggregations: Sequence[Aggregation],
) -> dict[tuple[str, str], tuple[dict[Any, str], set[str]]]:
    """One grouped query per (column, group_by), with every partial its aggregations need."""
    found: dict[tuple[str, str], tuple[dict[Any, str], set[str]]] = {}
    for aggregation in aggregations:
        if aggregation.group_by is None:
            continue
        key = (aggregation.column, aggregation.group_by)
        groups = dict(aggregation.groups or {})
        if key in found and found[key][0] != groups:
            raise DefinitionError(
                f"aggregations of {aggregation.column!r} by {aggregation.group_by!r} must use "
                "the same groups"
            )
        found.setdefault(key, (groups, set()))[1].update(WANTS[aggregation.function])
    return found


def aggregate_events(
    events: pl.DataFrame | pl.LazyFrame | pa.Table | str,
    view: FeatureView,
    *,
    timestamp_column: str = "event_timestamp",
    since: datetime | None = None,
    until: datetime | None = None,
    derived: Mapping[str, str] | None = None,
    tables: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """Compute `view`'s aggregations: rows at day boundaries in [since, until] (until defaults
    to the boundary after the last event: later boundaries would claim knowledge of days not
    seen yet). `events` is a frame, or SQL over the Arrow/Polars `tables` it names.
    Columns: join keys, the aggregation outputs (cast to their field dtypes), event_timestamp;
    rows in no particular order."""
    # Boundaries are midnights, numbered in days since 1970: the range as day numbers.
    first = None if since is None else -(-to_micros(since) // DAY_US)
    last = None if until is None else to_micros(until) // DAY_US
    registered = dict(tables or {})
    source = events
    if not isinstance(source, str):
        registered["cf_events"] = source.collect() if isinstance(source, pl.LazyFrame) else source
        source = "cf_events"
    connection = connect()
    events_table = f"cf_events_{uuid.uuid4().hex}"
    try:
        for name, table in registered.items():
            connection.register(
                name, table.to_arrow() if isinstance(table, pl.DataFrame) else table
            )
        # The daily and the grouped reductions both read the events: compute them once.
        connection.execute(f"CREATE TEMP TABLE {events_table} AS SELECT * FROM {source}")
        events = events_table
        group_columns = {a.group_by for a in view.aggregations if a.group_by is not None}
        list_columns = frozenset(
            c
            for c in group_columns
            if "[]"
            in connection.sql(f"SELECT {quote_ident(c)} FROM {events} LIMIT 0").types[0].__str__()
        )
        compiled = compile_aggregations(view, events, timestamp_column, derived, list_columns)
        daily_frame = _polars(connection.sql(compiled.daily_sql).to_arrow_table())
        daily_frame = daily_frame.sort([*view.join_keys, "__b"])
        daily = daily_frame.to_arrow()
        connection.register(
            "cf_daily_rows", daily_frame.select(*view.join_keys, "__b").with_row_index("__row")
        )
        grouped = [
            _polars(connection.sql(sql).to_arrow_table()) for _, _, sql in compiled.grouped_sqls
        ]
        connection.execute(f"DROP TABLE {events_table}")  # free the events before the result
        running = compiled.running_totals(daily_frame, grouped)
        del grouped
        connection.register("cf_daily", daily)
        connection.register("cf_running", running.to_arrow())
        matched = compiled.matched(daily_frame, first, last)
        connection.register("cf_matched", matched.to_arrow())
        grid_rows = matched.height
        del daily_frame, running, matched, daily
        result = _polars(_run_in_parts(connection, compiled, grid_rows))
    finally:
        connection.execute(f"DROP TABLE IF EXISTS {events_table}")
        connection.close()  # also releases the Arrow tables registered on it
    outputs = [name for a in view.aggregations for name in a.outputs]
    columns = [*view.join_keys, *outputs, "event_timestamp"]
    stamp = (pl.col("__b") * DAY_US).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    result = result.with_columns(stamp.alias("event_timestamp"))
    target = _polars(
        pa.schema([pa.field(f.name, f.dtype.to_arrow()) for f in view.schema]).empty_table()
    )
    casts = pl.Schema({name: dtype for name, dtype in target.schema.items() if name in columns})
    return result.select(columns).cast(casts)


_ROWS_PER_PART = 1_000_000


def _run_in_parts(connection: Any, compiled: CompiledAggregations, rows: int) -> pa.Table:
    """The result query, in parts of about a million boundary rows (by entity hash), streamed
    batch by batch: memory holds one part's join state, never the whole grid's twice."""
    parts = max(1, -(-rows // _ROWS_PER_PART))
    sql = compiled.result_sql(parts)
    batches: list[pa.RecordBatch] = []
    schema = None
    for part in range(parts):
        reader = connection.sql(sql, params={"part": part} if parts > 1 else None)
        stream = reader.to_arrow_reader(250_000)
        schema = stream.schema
        batches.extend(stream)
    return pa.Table.from_batches(batches, schema)


def _polars(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame
