"""SQL that reads one feature view's rows in DuckDB, with uniform internal column names.

Every scan yields the view's join keys, `__cf_ts` (event time), `__cf_created` (or NULL) and the
features, cast to the view's declared types, whether the rows live in a Delta table (managed) or
in external Parquet files (FileSource).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from cinefeat.definitions import FeatureView
from cinefeat.errors import CinefeatError
from cinefeat.offline._delta import TableSnapshot

__all__ = ["CREATED", "TS", "connect", "quote_ident", "scan_sql", "sql_string"]

TS = "__cf_ts"
CREATED = "__cf_created"


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection whose session time zone is UTC: casting a naive Parquet
    timestamp to TIMESTAMPTZ must mean UTC, not the machine's local zone."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _parquet_call(paths: Sequence[str]) -> str:
    listed = ", ".join(sql_string(p) for p in paths)
    return f"read_parquet([{listed}], union_by_name = true)"


def _select(view: FeatureView, available: set[str], source: str, features: Sequence[str]) -> str:
    parts = []
    for field in (*view.key_fields, *(view.field(name) for name in features)):
        if field.name in available:
            column = quote_ident(field.name)
            parts.append(f"CAST({column} AS {field.dtype.duckdb_type}) AS {column}")
        else:  # a field added after these rows were written
            parts.append(f"CAST(NULL AS {field.dtype.duckdb_type}) AS {quote_ident(field.name)}")
    event = view.event_timestamp_column
    event_sql = quote_ident(event) if event in available else "NULL"
    parts.append(f"CAST({event_sql} AS TIMESTAMPTZ) AS {TS}")
    created = view.created_column
    if created is not None and created in available:
        parts.append(f"CAST({quote_ident(created)} AS TIMESTAMPTZ) AS {CREATED}")
    else:
        parts.append(f"CAST(NULL AS TIMESTAMPTZ) AS {CREATED}")
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
        raise CinefeatError(
            f"feature view {view.name!r}: FileSource path {str(path)!r} does not exist"
        )
    if not files:
        return _empty(view, features)
    source = _parquet_call(files)
    available = {row[0] for row in connection.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    needed = [*view.join_keys, *features, view.event_timestamp_column]
    missing = [name for name in needed if name not in available]
    if missing:
        raise CinefeatError(
            f"feature view {view.name!r}: FileSource {str(path)!r} has no column(s) {missing}; "
            f"it has {sorted(available)}"
        )
    return _select(view, available, source, features)
