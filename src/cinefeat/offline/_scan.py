"""SQL that reads one feature view's rows in DuckDB, with uniform internal column names.

Every scan yields the view's join keys, `__cf_ts` (event time), `__cf_created` (or NULL) and the
features, cast to the view's declared types, whether the rows live in a Delta table (managed) or
in external Parquet files (FileSource). FileSource files are checked against the view first: a
missing or mistyped column is an error naming it, never a silent cast.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from cinefeat.definitions import FeatureView
from cinefeat.errors import SchemaMismatchError
from cinefeat.offline._delta import TableSnapshot
from cinefeat.offline._typecheck import describe_arrow_type, dtype_accepts
from cinefeat.sqltext import quote_ident, sql_string

__all__ = ["CREATED", "TS", "scan_sql"]

TS = "__cf_ts"
CREATED = "__cf_created"


def _parquet_call(paths: Sequence[str]) -> str:
    listed = ", ".join(sql_string(p) for p in paths)
    return f"read_parquet([{listed}], union_by_name = true)"


def _select(view: FeatureView, available: set[str], source: str, features: Sequence[str]) -> str:
    parts = []
    for field in (*view.key_fields, *(view.field(name) for name in features)):
        column = quote_ident(field.name)
        # A field added to a managed view after these rows were written reads as null.
        value = column if field.name in available else "NULL"
        parts.append(f"CAST({value} AS {field.dtype.duckdb_type}) AS {column}")
    event = view.event_timestamp_column
    event_sql = quote_ident(event) if event in available else "NULL"
    parts.append(f"CAST({event_sql} AS TIMESTAMPTZ) AS {TS}")
    created = view.created_column
    created_sql = quote_ident(created) if created is not None and created in available else "NULL"
    parts.append(f"CAST({created_sql} AS TIMESTAMPTZ) AS {CREATED}")
    return f"SELECT {', '.join(parts)} FROM {source}"


def _empty(view: FeatureView, features: Sequence[str]) -> str:
    return _select(view, set(), "(SELECT 1) AS empty", features) + " WHERE false"


def scan_sql(
    view: FeatureView,
    features: Sequence[str],
    *,
    snapshot: TableSnapshot | None = None,
    repo_path: Path | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> str:
    """A SELECT over a managed view's Delta snapshot, or over a FileSource's Parquet files."""
    if view.source is None:
        if snapshot is None or not snapshot.files:
            return _empty(view, features)
        return _select(view, set(snapshot.columns), _parquet_call(snapshot.files), features)

    assert repo_path is not None and connection is not None
    path = view.source.resolve(repo_path)
    if path.is_dir():
        files = sorted(str(p) for p in path.rglob("*.parquet"))
    elif path.is_file():
        files = [str(path)]
    else:
        raise SchemaMismatchError(
            f"feature view {view.name!r}: FileSource path {str(path)!r} does not exist"
        )
    if not files:
        return _empty(view, features)
    source = _parquet_call(files)
    _check_file_schema(view, features, str(path), connection, source)
    # Rows without a key or an event time can be neither joined nor served.
    required = [*view.join_keys, view.event_timestamp_column]
    where = " AND ".join(f"{quote_ident(c)} IS NOT NULL" for c in required)
    available = {*view.join_keys, *features, view.event_timestamp_column}
    if view.created_column is not None:
        available.add(view.created_column)
    return f"{_select(view, available, source, features)} WHERE {where}"


def _check_file_schema(
    view: FeatureView,
    features: Sequence[str],
    path: str,
    connection: duckdb.DuckDBPyConnection,
    source: str,
) -> None:
    schema = connection.sql(f"SELECT * FROM {source} LIMIT 0").to_arrow_table().schema
    problems = []
    for field in (*view.key_fields, *(view.field(name) for name in features)):
        if field.name not in schema.names:
            problems.append(f"missing column {field.name!r} ({field.dtype})")
        elif not dtype_accepts(field.dtype, schema.field(field.name).type):
            actual = describe_arrow_type(schema.field(field.name).type)
            problems.append(
                f"column {field.name!r}: declared {field.dtype}, the files hold {actual}"
            )
    for column in (view.event_timestamp_column, view.created_column):
        if column is None:
            continue
        if column not in schema.names:
            problems.append(f"missing timestamp column {column!r}")
        elif not str(schema.field(column).type).startswith("timestamp"):
            actual = describe_arrow_type(schema.field(column).type)
            problems.append(f"column {column!r}: expected a timestamp, the files hold {actual}")
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise SchemaMismatchError(
            f"feature view {view.name!r}: FileSource {path!r} does not match the view "
            f"(its columns are {schema.names}):\n{listed}"
        )
