"""Point-in-time joins: the feature values each entity row would have seen at its own time.

For each entity row and view: among feature rows with the same join keys and
`feature.ts <= entity.ts` (and, with a non-zero ttl, `feature.ts >= entity.ts - ttl`), take the
one with the latest event time, ties broken by the latest created time. Every entity row is kept,
in order, with its own columns; no match gives nulls. Run in DuckDB as ASOF joins over Arrow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cinefeat.definitions import FeatureView
from cinefeat.duck import connect
from cinefeat.errors import EntityDataFrameError, FeatureNameCollisionError
from cinefeat.offline._frames import to_utc_micros
from cinefeat.offline._scan import CREATED, TS
from cinefeat.offline._typecheck import describe_arrow_type, key_accepts, plain_type
from cinefeat.sqltext import quote_ident

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

__all__ = ["FeatureRequest", "RetrievalJob", "entity_timestamp_column"]

ENTITY_TS = "__cf_entity_ts"
ROW = "__cf_row"
ORDER = "__cf_order"


@dataclass(frozen=True)
class FeatureRequest:
    """Features wanted from one view version, with the column names they get in the output."""

    view: FeatureView
    features: tuple[str, ...]
    output_names: tuple[str, ...]
    scan: str = field(repr=False, default="")  # SQL yielding the view's rows (see _scan)


def entity_timestamp_column(table: pa.Table) -> str:
    """`event_timestamp` if present, else the one timestamp column, else an error."""
    if "event_timestamp" in table.column_names:
        kind = table.schema.field("event_timestamp").type
        if not pa.types.is_timestamp(kind):
            raise EntityDataFrameError(
                f"entity_df column 'event_timestamp' must hold timestamps, got {kind}; "
                "convert it with pd.to_datetime(...) or pl.col(...).str.to_datetime()"
            )
        return "event_timestamp"
    candidates = [f.name for f in table.schema if pa.types.is_timestamp(f.type)]
    if len(candidates) == 1:
        return str(candidates[0])
    if not candidates:
        raise EntityDataFrameError(
            f"entity_df needs an 'event_timestamp' column (or exactly one timestamp column); "
            f"its columns are {table.column_names}"
        )
    raise EntityDataFrameError(
        f"entity_df has several timestamp columns {candidates}; name the one to join on "
        "'event_timestamp'"
    )


def _check_keys(table: pa.Table, request: FeatureRequest) -> None:
    for key_field in request.view.key_fields:
        if key_field.name not in table.column_names:
            raise EntityDataFrameError(
                f"entity_df has no column {key_field.name!r}, the join key of feature view "
                f"{request.view.name!r}; its columns are {table.column_names}"
            )
        actual = table.schema.field(key_field.name).type
        if not key_accepts(key_field.dtype, actual):
            raise EntityDataFrameError(
                f"entity_df column {key_field.name!r} is {describe_arrow_type(actual)}, but "
                f"feature view {request.view.name!r} declares it {key_field.dtype}"
            )


def _check_names(table: pa.Table, requests: Sequence[FeatureRequest]) -> None:
    seen: dict[str, str] = {name: "a column of entity_df" for name in table.column_names}
    for request in requests:
        for feature, name in zip(request.features, request.output_names, strict=True):
            ref = f"{request.view.name}:{feature}"
            if name in seen:
                raise FeatureNameCollisionError(
                    f"feature {ref} would be output as {name!r}, which is already {seen[name]}; "
                    "pass full_feature_names=True to name features view__feature"
                )
            seen[name] = f"the name of {ref}"


def _view_relation(request: FeatureRequest) -> str:
    """The view's candidate rows inside the entity time range, with an ordering key of
    (event time, created time): the ASOF join then picks the latest event and, among equal
    events, the latest created row, without a separate de-duplication pass."""
    ttl_us = request.view.ttl_micros
    lower = f" AND {TS} >= $lo - to_microseconds({ttl_us})" if ttl_us else ""
    order = f"struct_pack(t := {TS}, c := coalesce({CREATED}, '-infinity'::TIMESTAMPTZ))"
    return f"(SELECT *, {order} AS {ORDER} FROM ({request.scan}) WHERE {TS} <= $hi{lower})"


def _plain(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dictionary (pandas Categorical) and view-encoded keys as plain values DuckDB can join."""
    target = plain_type(column.type)
    return column if target == column.type else column.cast(target)


class RetrievalJob:
    """A point-in-time join, run on first use. `table_versions` records the Delta version read
    for each managed view, so `get_historical_features(..., table_versions=...)` rebuilds it."""

    def __init__(
        self,
        entity_table: pa.Table,
        requests: Sequence[FeatureRequest],
        table_versions: dict[str, int | None],
        output_order: Sequence[str] | None = None,
        finish: Callable[[pa.Table], pa.Table] | None = None,
    ) -> None:
        """`output_order` names the output columns in order (default: the requests' names);
        `finish`, when given, turns the joined table into the final one (on-demand features
        are computed there) and must return the entity columns then `output_order`."""
        self.entity_timestamp_column = entity_timestamp_column(entity_table)
        for request in requests:
            _check_keys(entity_table, request)
        _check_names(entity_table, requests)
        self._entity = entity_table
        self._requests = tuple(requests)
        self.table_versions = dict(table_versions)
        self._result: pa.Table | None = None
        self.feature_names = list(output_order or [n for r in requests for n in r.output_names])
        self._finish = finish

    def to_arrow(self) -> pa.Table:
        if self._result is None:
            joined = self._run()
            self._result = joined if self._finish is None else self._finish(joined)
        return self._result

    def to_df(self) -> pd.DataFrame:
        frame: pd.DataFrame = self.to_arrow().to_pandas()
        return frame

    def to_polars(self) -> pl.DataFrame:
        import polars as pl

        result = pl.from_arrow(self.to_arrow())
        assert isinstance(result, pl.DataFrame)
        return result

    def _run(self) -> pa.Table:
        entity = self._entity
        if not self._requests or entity.num_rows == 0:
            return self._attach(entity, None)
        ts = to_utc_micros(entity.column(self.entity_timestamp_column))
        keys = sorted({k for r in self._requests for k in r.view.join_keys})
        probe = pa.table(
            {
                **{k: _plain(entity.column(k)) for k in keys},
                ENTITY_TS: ts,
                ROW: pa.array(np.arange(entity.num_rows, dtype=np.int64)),
            }
        )
        bounds = pc.min_max(ts)
        lo, hi = bounds["min"].as_py(), bounds["max"].as_py()
        if lo is None:  # every entity timestamp is null: nothing can match
            return self._attach(entity, None)
        sql = self._sql()
        params = {"lo": lo, "hi": hi} if "$lo" in sql else {"hi": hi}
        con = connect()
        try:
            con.register("cf_entity", probe)  # zero-copy: DuckDB scans the Arrow buffers
            features = con.sql(sql, params=params).to_arrow_table()
        finally:
            con.close()
        return self._attach(entity, features)

    def _sql(self) -> str:
        selects, joins = [], []
        for i, request in enumerate(self._requests):
            alias = f"f{i}"
            ttl_us = request.view.ttl_micros
            for feature, name in zip(request.features, request.output_names, strict=True):
                value = f"{alias}.{quote_ident(feature)}"
                if ttl_us:
                    value = (
                        f"CASE WHEN {alias}.{TS} >= e.{ENTITY_TS} - to_microseconds({ttl_us}) "
                        f"THEN {value} END"
                    )
                selects.append(f"{value} AS {quote_ident(name)}")
            on = " AND ".join(
                f"e.{quote_ident(k)} = {alias}.{quote_ident(k)}" for k in request.view.join_keys
            )
            joins.append(
                f"ASOF LEFT JOIN {_view_relation(request)} AS {alias} "
                f"ON {on} AND e.{ORDER} >= {alias}.{ORDER}"
            )
        # A row without a time matches nothing (a NULL key never joins).
        order = f"struct_pack(t := {ENTITY_TS}, c := 'infinity'::TIMESTAMPTZ)"
        entity = (
            f"(SELECT *, CASE WHEN {ENTITY_TS} IS NOT NULL THEN {order} END AS {ORDER} "
            "FROM cf_entity)"
        )
        return f"SELECT {', '.join(selects)} FROM {entity} AS e {' '.join(joins)} ORDER BY e.{ROW}"

    def _attach(self, entity: pa.Table, features: pa.Table | None) -> pa.Table:
        result = entity
        for request in self._requests:
            for feature, name in zip(request.features, request.output_names, strict=True):
                target = request.view.field(feature).dtype.to_arrow()
                if features is None:
                    column = pa.nulls(entity.num_rows, target)
                else:
                    column = features.column(name).cast(target)
                result = result.append_column(pa.field(name, target), column)
        if self._finish is not None:
            return result
        return result.select([*entity.column_names, *self.feature_names])
