"""Compiling a view's Aggregations to DuckDB: events in, one row per entity per day boundary out.

Rows are emitted at each midnight (UTC) where some aggregate of an entity changes: the end of
every day with events, and the day an event leaves each window. Between two rows nothing
changes, so a point-in-time join of the latest row at or before time t gives the exact values
as of t's day boundary. Per day the events are reduced to partials (count, sum, sum of squares,
min, max), and windows are sums of partials over RANGE frames, so the cost is linear in events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl
import pyarrow as pa

from cinefeat.definitions import Aggregation, FeatureView
from cinefeat.errors import DefinitionError
from cinefeat.offline import connect
from cinefeat.sqltext import quote_ident

__all__ = ["aggregate_events", "aggregation_sql"]

_DAY = "INTERVAL 1 DAY"


def _partials(aggregations: Sequence[Aggregation]) -> dict[str, set[str]]:
    """Which per-day partials each source column needs."""
    needs: dict[str, set[str]] = {}
    wants = {
        "count": {"n"},
        "sum": {"n", "s"},
        "mean": {"n", "s"},
        "std": {"n", "s", "ss"},
        "min": {"lo"},
        "max": {"hi"},
        "count_distinct": {"first"},
    }
    for aggregation in aggregations:
        needs.setdefault(aggregation.column, set()).update(wants[aggregation.function])
    return needs


def _partial_sql(column: str, partial: str) -> str:
    c = quote_ident(column)
    return {
        "n": f"count({c})",
        "s": f"sum({c})",
        "ss": f"sum({c} * {c})",
        "lo": f"min({c})",
        "hi": f"max({c})",
        "first": f"count(*) FILTER (WHERE {quote_ident('__first_' + column)})",
    }[partial]


def _value_sql(aggregation: Aggregation, frame: str) -> str:
    """The aggregate at a boundary row, from the partials summed over `frame`."""
    col = aggregation.column

    def total(partial: str) -> str:
        return f"sum({quote_ident(f'__{partial}_{col}')}) OVER {frame}"

    function = aggregation.function
    if function == "count":  # a window with no events counts 0 (its partials are NULL)
        return f"coalesce({total('n')}, 0)"
    if function == "count_distinct":
        return f"coalesce({total('first')}, 0)"
    if function == "sum":
        return f"CASE WHEN {total('n')} > 0 THEN {total('s')} END"
    if function == "mean":
        return f"CASE WHEN {total('n')} > 0 THEN {total('s')} / {total('n')} END"
    if function == "std":
        n, s, ss = total("n"), total("s"), total("ss")
        variance = f"({ss} - {s} * {s} / {n}) / ({n} - 1)"
        # Rounding can make a zero variance slightly negative.
        return f"CASE WHEN {n} >= 2 THEN sqrt(greatest({variance}, 0)) END"
    if function == "min":
        return f"min({quote_ident('__lo_' + col)}) OVER {frame}"
    return f"max({quote_ident('__hi_' + col)}) OVER {frame}"


def aggregation_sql(
    view: FeatureView, events: str, timestamp_column: str, where: str = "true"
) -> str:
    """SQL over the relation `events` (join keys, `timestamp_column`, aggregated columns).
    `where` filters the output rows (after the windows are computed); it may use
    `event_timestamp` and `last_boundary` (the boundary after the last event)."""
    if not view.aggregations:
        raise DefinitionError(f"FeatureView {view.name!r} declares no aggregations")
    keys = [quote_ident(k) for k in view.join_keys]
    key_list = ", ".join(keys)
    ts = quote_ident(timestamp_column)
    needs = _partials(view.aggregations)
    firsts = [
        f"row_number() OVER (PARTITION BY {key_list}, {quote_ident(c)} ORDER BY {ts}) = 1 "
        f"AND {quote_ident(c)} IS NOT NULL AS {quote_ident('__first_' + c)}"
        for c, parts in needs.items()
        if "first" in parts
    ]
    not_null = " AND ".join(f"{k} IS NOT NULL" for k in [*keys, ts])
    extra = "".join(f", {f}" for f in firsts)
    partials = [
        f"{_partial_sql(c, p)} AS {quote_ident(f'__{p}_{c}')}"
        for c, parts in needs.items()
        for p in sorted(parts)
    ]
    windows = sorted({a.window_days for a in view.aggregations if a.window_days is not None})
    expiries = "".join(
        f" UNION SELECT {key_list}, b + INTERVAL {days} DAY AS b FROM daily" for days in windows
    )
    frames: dict[int | None, str] = {
        None: f"(PARTITION BY {key_list} ORDER BY b ROWS UNBOUNDED PRECEDING)"
    }
    for days in windows:
        frames[days] = (
            f"(PARTITION BY {key_list} ORDER BY b "
            f"RANGE BETWEEN INTERVAL {days - 1} DAY PRECEDING AND CURRENT ROW)"
        )
    values = ", ".join(
        f"{_value_sql(a, frames[a.window_days])} AS {quote_ident(a.output)}"
        for a in view.aggregations
    )
    return f"""
WITH ev AS (SELECT *{extra} FROM {events} WHERE {not_null}),
daily AS (
  SELECT {key_list}, date_trunc('day', {ts}) + {_DAY} AS b, {", ".join(partials)}
  FROM ev GROUP BY ALL
),
bounds AS (SELECT {key_list}, b FROM daily{expiries}),
grid AS (SELECT * FROM bounds LEFT JOIN daily USING ({key_list}, b)),
result AS (SELECT {key_list}, {values}, b AS event_timestamp FROM grid)
SELECT * FROM result, (SELECT max(b) AS last_boundary FROM daily)
WHERE {where}
"""


def aggregate_events(
    events: pl.DataFrame | pl.LazyFrame | Any,
    view: FeatureView,
    *,
    timestamp_column: str = "event_timestamp",
    since: datetime | None = None,
    until: datetime | None = None,
) -> pl.DataFrame:
    """Compute `view`'s aggregations from `events` (Polars or Arrow): rows at day boundaries in
    [since, until] (until defaults to the boundary after the last event: later boundaries
    would claim knowledge of days not yet seen). Columns: join keys, the view's aggregation
    outputs (cast to their field dtypes), event_timestamp."""
    if isinstance(events, pl.LazyFrame):
        events = events.collect()
    table = events.to_arrow() if isinstance(events, pl.DataFrame) else events
    conditions = ["event_timestamp <= " + ("last_boundary" if until is None else "$until")]
    params: dict[str, object] = {} if until is None else {"until": until}
    if since is not None:
        conditions.append("event_timestamp >= $since")
        params["since"] = since
    sql = aggregation_sql(view, "cf_events", timestamp_column, " AND ".join(conditions))
    connection = connect()
    try:
        connection.register("cf_events", table)
        result = pl.from_arrow(connection.sql(sql, params=params or None).to_arrow_table())
    finally:
        connection.close()
    assert isinstance(result, pl.DataFrame)
    columns = [*view.join_keys, *(a.output for a in view.aggregations), "event_timestamp"]
    target = pl.from_arrow(
        pa.schema([pa.field(f.name, f.dtype.to_arrow()) for f in view.schema]).empty_table()
    )
    assert isinstance(target, pl.DataFrame)
    casts = pl.Schema({name: dtype for name, dtype in target.schema.items() if name in columns})
    return result.select(columns).cast(casts).sort([*view.join_keys, "event_timestamp"])
