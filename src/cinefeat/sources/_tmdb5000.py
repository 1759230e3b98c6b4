"""Loading the Kaggle "TMDB 5000 Movie Dataset" movies CSV into canonical movie rows.

Its genres column holds a JSON array of {id, name} inside a quoted CSV field; budget, revenue
and runtime of 0 mean unknown. Rows go through the same checks as TMDB JSON records
(cinefeat.sources._tmdb_sql), so the quarantine rules are the same.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from cinefeat.duck import connect
from cinefeat.errors import CinefeatError
from cinefeat.sources._schema import QUARANTINE_SCHEMA, LoadResult
from cinefeat.sources._tmdb import finish_load, snapshot_time
from cinefeat.sources._tmdb_files import files_table, literal_path

__all__ = ["load_tmdb5000"]

_REQUIRED = ("id", "title", "genres", "popularity", "vote_average", "vote_count")
_TEXT_COLUMNS = (
    "id",
    "title",
    "original_title",
    "original_language",
    "release_date",
    "popularity",
    "vote_average",
    "vote_count",
    "overview",
    "runtime",
    "budget",
    "revenue",
)


def _records(columns: list[str], table: str) -> str:
    """The CSV rows of `table` in the text shape of records_sql."""
    fields = ", ".join(
        f"{name} AS {name}" if name in columns else f"CAST(NULL AS VARCHAR) AS {name}"
        for name in _TEXT_COLUMNS
    )
    return f"""
SELECT
  $source AS source, 'csv row' AS shape,
  to_json(cf_csv)::VARCHAR AS raw,
  CAST(NULL AS VARCHAR) AS shape_error,
  CAST(NULL AS VARCHAR) AS media_type,
  {fields},
  CASE WHEN json_valid(genres) THEN to_json(json_extract(genres, '$[*].id')) END AS genre_ids,
  {"adult" if "adult" in columns else "CAST(NULL AS VARCHAR)"} AS adult
FROM {table} AS cf_csv
"""


def load_tmdb5000(path: str | Path, snapshot_ts: datetime | None = None) -> LoadResult:
    """Load tmdb_5000_movies.csv. The snapshot time is the caller's, else a date in the file
    name, else the file's mtime (the dataset itself was collected in 2017).

    A row DuckDB's CSV reader cannot split (too few or too many fields, not UTF-8) is
    quarantined with its line number; the other rows still load."""
    file = Path(path)
    if not file.is_file():
        raise CinefeatError(f"load_tmdb5000: {file} is not a file")
    when = snapshot_time(file, snapshot_ts)
    connection = connect()
    name = f"cf_csv_{uuid.uuid4().hex}"
    try:
        try:
            connection.execute(
                f"CREATE TEMP TABLE {name} AS SELECT * FROM read_csv({literal_path(file)}, "
                f"header = true, all_varchar = true, strict_mode = true, store_rejects = true, "
                f"rejects_table = '{name}_rejects', rejects_scan = '{name}_scans')"
            )
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            raise CinefeatError(f"{file}: not a readable CSV file: {message}") from None
        columns = [c[0] for c in connection.sql(f"DESCRIBE {name}").fetchall()]
        missing = [c for c in _REQUIRED if c not in columns]
        if missing:
            raise CinefeatError(
                f"{file}: not a TMDB-5000 movies file; missing columns {missing} (it has {columns})"
            )
        malformed = _malformed(connection, f"{name}_rejects", file, when.moment)
        return finish_load(
            connection,
            _records(columns, name),
            files_table([(file, when)]),
            {"source": str(file)},
            unreadable=malformed,
        )
    finally:
        for table in (name, f"{name}_rejects", f"{name}_scans"):
            connection.execute(f"DROP TABLE IF EXISTS {table}")
        connection.close()


def _malformed(
    connection: duckdb.DuckDBPyConnection, rejects: str, file: Path, moment: datetime
) -> pl.DataFrame:
    """One quarantine row per line the CSV reader rejected (its first error)."""
    reason = "'malformed CSV row: line ' || line || ': ' || error_message"
    frame = pl.from_arrow(
        connection.sql(
            f"SELECT 'movies' AS kind, arg_min(csv_line, byte_position) AS raw, "
            f"arg_min({reason}, byte_position) AS reason, $source AS source, "
            f"$moment AS snapshot_ts FROM {rejects} GROUP BY line ORDER BY line",
            params={"source": str(file), "moment": moment},
        ).to_arrow_table()
    )
    assert isinstance(frame, pl.DataFrame)
    return frame.cast(pl.Schema(QUARANTINE_SCHEMA))
