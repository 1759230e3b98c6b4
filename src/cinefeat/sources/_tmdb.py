"""Loading TMDB API JSON: list pages, detail objects, collections, lists, person credits, in a
file, a directory of files, or JSON Lines, into canonical movie rows with quarantine.

The snapshot time of each file comes from the caller, else a date in the file name
(`popular_2024-03-01.json`, `20240301T0600.jsonl`), else the file's modification time.
Within one snapshot a movie appears once: of several records with the same id, the one with
the most votes is kept (the first read wins a tie) and the others are quarantined as duplicates.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from cinefeat.errors import CinefeatError
from cinefeat.offline import connect
from cinefeat.sources._schema import MOVIES_SCHEMA, QUARANTINE_SCHEMA, LoadResult
from cinefeat.sources._tmdb_sql import NORMALISATIONS, records_sql, validated_sql
from cinefeat.sqltext import sql_string
from cinefeat.timeutil import as_utc

__all__ = ["SnapshotTime", "finish_load", "load_tmdb", "snapshot_time"]

_JSON_SUFFIXES = {".json", ".jsonl", ".ndjson"}
_NAME_TIME = re.compile(
    r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?:[T_ -]?(\d{2})[:-]?(\d{2})(?:[:-]?(\d{2}))?)?(?!\d)"
)
_UNREADABLE_PREVIEW = 2_000


@dataclass(frozen=True)
class SnapshotTime:
    moment: datetime
    origin: str  # "caller", "file name" or "file mtime"


def snapshot_time(path: Path, given: datetime | None = None) -> SnapshotTime:
    """The caller's time, else a date (and time) in the file name, else the file's mtime."""
    if given is not None:
        return SnapshotTime(as_utc(given), "caller")
    for match in _NAME_TIME.finditer(path.name):
        year, month, day, hour, minute, second = (int(p) if p else 0 for p in match.groups())
        try:
            moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:  # 20241399 is not a date: keep looking
            continue
        return SnapshotTime(moment, "file name")
    return SnapshotTime(datetime.fromtimestamp(path.stat().st_mtime, UTC), "file mtime")


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix.lower() in _JSON_SUFFIXES)
    raise CinefeatError(f"load_tmdb: {path} does not exist")


def _json_source(files: list[tuple[Path, SnapshotTime]]) -> str:
    """All files in one scan (DuckDB reads them in parallel), with the file each doc came from."""
    parts = []
    for json_format, suffixes in (("newline_delimited", {".jsonl", ".ndjson"}), ("auto", None)):
        chosen = [
            sql_string(str(path))
            for path, _ in files
            if (
                path.suffix.lower() in suffixes
                if suffixes
                else path.suffix.lower() not in {".jsonl", ".ndjson"}
            )
        ]
        if chosen:
            parts.append(
                f"SELECT json AS doc, filename FROM read_json_objects([{', '.join(chosen)}], "
                f"format = '{json_format}', filename = true, maximum_object_size = 268435456)"
            )
    return "(" + " UNION ALL ".join(parts) + ")"


def _files_table(files: list[tuple[Path, SnapshotTime]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source": [str(path) for path, _ in files],
            "snapshot_ts": [when.moment for _, when in files],
            "snapshot_from": [when.origin for _, when in files],
            "file_order": list(range(len(files))),
        },
        schema={
            "source": pl.String,
            "snapshot_ts": MOVIES_SCHEMA["snapshot_ts"],
            "snapshot_from": pl.String,
            "file_order": pl.Int64,
        },
    )


def _unreadable(path: Path, error: Exception, when: SnapshotTime) -> pl.DataFrame:
    preview = path.read_bytes()[:_UNREADABLE_PREVIEW].decode("utf-8", errors="replace")
    reason = f"unreadable file: {str(error).splitlines()[0]}"
    return pl.DataFrame(
        {
            "kind": ["movies"],
            "raw": [preview],
            "reason": [reason],
            "source": [str(path)],
            "snapshot_ts": [when.moment],
        },
        schema=QUARANTINE_SCHEMA,
    )


_CANONICAL = ", ".join(f'"{name}"' for name in MOVIES_SCHEMA)


def finish_load(
    connection: duckdb.DuckDBPyConnection,
    records: str,
    files: pl.DataFrame,
    params: dict[str, object] | None = None,
) -> LoadResult:
    """Validate `records` (the `records_sql` columns) and split them into accepted and
    quarantined: within one snapshot a movie is kept once, the record with most votes (then the
    first read). Raw record text is only carried for quarantined records."""
    table = f"cf_load_{uuid.uuid4().hex}"
    connection.register("cf_files", files.to_arrow())
    valid = "problems = ''"
    try:
        # Materialised first: its rowid is then the reading order, which numbering rows with
        # row_number() would compute single-threaded at several times the cost.
        connection.execute(f"CREATE TEMP TABLE {table}_records AS {records}", params or None)
        validated = validated_sql(f"(SELECT *, rowid AS position FROM {table}_records)")
        connection.execute(
            f"""CREATE TEMP TABLE {table} AS
            SELECT v.*, f.snapshot_ts, f.file_order,
              CASE WHEN {valid} THEN row_number() OVER (
                PARTITION BY f.snapshot_ts, v.movie_id, {valid}
                ORDER BY v.vote_count DESC, f.file_order, v.position) END AS rank,
              CASE WHEN {valid} THEN first_value(v.source) OVER (
                PARTITION BY f.snapshot_ts, v.movie_id, {valid}
                ORDER BY v.vote_count DESC, f.file_order, v.position) END AS kept_source
            FROM ({validated}) v JOIN cf_files f USING (source)"""
        )
        accepted_sql = (
            f"SELECT {_CANONICAL} FROM {table} WHERE rank = 1 ORDER BY file_order, position"
        )
        accepted = pl.from_arrow(connection.sql(accepted_sql).to_arrow_table())
        duplicate = (
            "'duplicate: movie_id ' || movie_id || ' appears again in snapshot ' || "
            "strftime(snapshot_ts, '%Y-%m-%dT%H:%M:%SZ') || '; kept the record with the most "
            "votes (from ' || kept_source || ')'"
        )
        quarantined = pl.from_arrow(
            connection.sql(
                f"SELECT 'movies' AS kind, raw, CASE WHEN {valid} THEN {duplicate} "
                f"ELSE problems END AS reason, source, snapshot_ts FROM {table} "
                f"WHERE NOT {valid} OR rank > 1 "
                "ORDER BY file_order, position"
            ).to_arrow_table()
        )
        sums = ", ".join(f'sum("{n}"::INTEGER)' for n in NORMALISATIONS)
        counts = connection.sql(f"SELECT {sums} FROM {table} WHERE rank = 1").fetchall()[0]
        per_file = connection.sql(
            f"SELECT source, count(*) FROM {table} GROUP BY source"
        ).fetchall()
    finally:
        connection.execute(f"DROP TABLE IF EXISTS {table}")
        connection.execute(f"DROP TABLE IF EXISTS {table}_records")
        connection.unregister("cf_files")
    assert isinstance(accepted, pl.DataFrame) and isinstance(quarantined, pl.DataFrame)
    normalised = {
        name: int(count) for name, count in zip(NORMALISATIONS, counts, strict=True) if count
    }
    counted = dict(per_file)
    summary = files.with_columns(
        pl.col("source").replace_strict(counted, default=0, return_dtype=pl.Int64).alias("records"),
        pl.lit("read").alias("status"),
    ).drop("file_order")
    return LoadResult(
        "movies",
        accepted.cast(pl.Schema(MOVIES_SCHEMA)),
        quarantined.cast(pl.Schema(QUARANTINE_SCHEMA)),
        normalised=normalised,
        extras={"files": summary},
    )


def _readable(
    connection: duckdb.DuckDBPyConnection, files: list[tuple[Path, SnapshotTime]]
) -> tuple[list[tuple[Path, SnapshotTime]], list[str], list[pl.DataFrame]]:
    """Only when reading all files at once failed: find the files that cannot be parsed."""
    good, errors, unreadable = [], [], []
    for path, when in files:
        try:
            connection.sql(f"SELECT count(*) FROM {_json_source([(path, when)])}").fetchall()
        except duckdb.Error as exc:
            errors.append(f"{path}: {str(exc).splitlines()[0]}")
            unreadable.append(_unreadable(path, exc, when))
        else:
            good.append((path, when))
    return good, errors, unreadable


def load_tmdb(path: str | Path, snapshot_ts: datetime | None = None) -> LoadResult:
    """Load TMDB JSON from a file or a directory (recursively: *.json, *.jsonl, *.ndjson).

    A file that cannot be parsed (truncated JSON, not UTF-8) is reported in `errors` with its
    name and position, counted as one quarantined record, and the other files still load.
    """
    files = [(file, snapshot_time(file, snapshot_ts)) for file in _files(Path(path))]
    connection = connect()
    errors: list[str] = []
    unreadable: list[pl.DataFrame] = []
    try:
        try:
            result = (
                finish_load(connection, records_sql(_json_source(files)), _files_table(files))
                if files
                else None
            )
        except duckdb.Error:
            files, errors, unreadable = _readable(connection, files)
            result = (
                finish_load(connection, records_sql(_json_source(files)), _files_table(files))
                if files
                else None
            )
    finally:
        connection.close()
    if result is None:
        result = LoadResult(
            "movies", pl.DataFrame(schema=MOVIES_SCHEMA), pl.DataFrame(schema=QUARANTINE_SCHEMA)
        )
    result.errors = errors
    if unreadable:
        result.quarantined = pl.concat([result.quarantined, *unreadable])
    return result
