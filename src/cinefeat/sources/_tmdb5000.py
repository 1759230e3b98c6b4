"""Loading the Kaggle "TMDB 5000 Movie Dataset" movies CSV into canonical movie rows.

Its genres column holds a JSON array of {id, name} inside a quoted CSV field; budget, revenue
and runtime of 0 mean unknown. Rows go through the same checks as TMDB JSON records
(cinefeat.sources._tmdb_sql), so the quarantine rules are the same.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from cinefeat.errors import CinefeatError
from cinefeat.offline import connect
from cinefeat.sources._schema import LoadResult
from cinefeat.sources._tmdb import finish_load, snapshot_time

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


def _records(columns: list[str]) -> str:
    """The CSV rows (registered as `cf_csv`) in the text shape of records_sql."""
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
FROM cf_csv
"""


def load_tmdb5000(path: str | Path, snapshot_ts: datetime | None = None) -> LoadResult:
    """Load tmdb_5000_movies.csv. The snapshot time is the caller's, else a date in the file
    name, else the file's mtime (the dataset itself was collected in 2017)."""
    file = Path(path)
    if not file.is_file():
        raise CinefeatError(f"load_tmdb5000: {file} is not a file")
    try:
        frame = pl.read_csv(file, infer_schema=False)
    except (pl.exceptions.ComputeError, UnicodeDecodeError) as exc:
        raise CinefeatError(f"{file}: not a readable CSV file: {exc}") from None
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise CinefeatError(
            f"{file}: not a TMDB-5000 movies file; missing columns {missing} "
            f"(it has {frame.columns})"
        )
    when = snapshot_time(file, snapshot_ts)
    files = pl.DataFrame(
        {
            "source": [str(file)],
            "snapshot_ts": [when.moment],
            "snapshot_from": [when.origin],
            "file_order": [0],
        },
        schema={
            "source": pl.String,
            "snapshot_ts": pl.Datetime("us", "UTC"),
            "snapshot_from": pl.String,
            "file_order": pl.Int64,
        },
    )
    connection = connect()
    try:
        connection.register("cf_csv", frame.to_arrow())
        return finish_load(connection, _records(frame.columns), files, {"source": str(file)})
    finally:
        connection.close()
