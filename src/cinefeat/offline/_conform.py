"""Checking data written to a feature view against its schema, and casting it to storage types.

Everything wrong is reported at once, naming each column; a refused write writes nothing.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from cinefeat.definitions import FeatureView
from cinefeat.errors import SchemaMismatchError
from cinefeat.offline._frames import UTC_MICROS, to_utc_micros
from cinefeat.offline._typecheck import describe_arrow_type, dtype_accepts

__all__ = ["conform_to_view", "storage_schema"]


def storage_schema(view: FeatureView) -> pa.Schema:
    """The Arrow schema of a managed view's Delta table: keys, features, event and created time."""
    fields = [pa.field(f.name, f.dtype.to_arrow()) for f in view.schema]
    fields.append(pa.field(view.event_timestamp_column, UTC_MICROS, nullable=False))
    created = view.created_column
    if created is not None:
        fields.append(pa.field(created, UTC_MICROS))
    return pa.schema(fields)


def _cast_column(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)  # a pandas Categorical, say
    if pa.types.is_timestamp(column.type):
        return to_utc_micros(column)  # naive means UTC; Delta stores microseconds
    # Everything else must cast safely: an out-of-range unsigned integer is an error.
    return column.cast(target)


def conform_to_view(view: FeatureView, table: pa.Table, written_at: datetime) -> pa.Table:
    """Return `table` with the view's exact storage schema, or raise SchemaMismatchError.

    The created-timestamp column may be omitted (or null): it is filled with `written_at`, so a
    later write of the same entity and event time wins ties.
    """
    target = storage_schema(view)
    created = view.created_column
    problems: list[str] = []
    present = set(table.column_names)
    if len(present) != table.num_columns:
        dupes = sorted({c for c in table.column_names if table.column_names.count(c) > 1})
        problems.append(f"duplicate columns {dupes}")
    expected = {f.name: f for f in view.schema}
    for field in target:
        if field.name not in present and field.name != created:
            dtype = expected[field.name].dtype if field.name in expected else "timestamp"
            problems.append(f"missing column {field.name!r} ({dtype})")
    for name in table.column_names:
        if name not in target.names:
            problems.append(f"unexpected column {name!r}; the view has {target.names}")
    time_columns = {view.event_timestamp_column, created}
    for name in sorted(present & set(target.names)):
        actual = table.schema.field(name).type
        if name in time_columns:
            if not pa.types.is_timestamp(actual) and not pa.types.is_null(actual):
                problems.append(
                    f"column {name!r}: expected a timestamp, got {describe_arrow_type(actual)}"
                )
        elif not dtype_accepts(expected[name].dtype, actual):
            shown = describe_arrow_type(actual)
            problems.append(f"column {name!r}: expected {expected[name].dtype}, got {shown}")
    for name in (*view.join_keys, view.event_timestamp_column):
        if name in present and (nulls := table.column(name).null_count):
            first = pc.index(pc.is_null(table.column(name)), True).as_py()
            problems.append(f"column {name!r}: {nulls} null value(s), first at row {first}")
    if problems:
        raise SchemaMismatchError(_message(view, problems))

    columns = []
    for field in target:
        if field.name == created and field.name not in present:
            columns.append(pa.repeat(pa.scalar(written_at, UTC_MICROS), table.num_rows))
            continue
        try:
            column = _cast_column(table.column(field.name), field.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise SchemaMismatchError(
                _message(view, [f"column {field.name!r}: cannot store as {field.type}: {exc}"])
            ) from None
        if field.name == created and column.null_count:
            column = pc.fill_null(column, pa.scalar(written_at, UTC_MICROS))
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=target)


def _message(view: FeatureView, problems: list[str]) -> str:
    listed = "\n".join(f"  - {p}" for p in problems)
    return f"data does not match feature view {view.name!r}; nothing was written:\n{listed}"
