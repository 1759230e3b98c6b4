"""Loading TMDB API JSON: list pages, detail objects, collections, lists, person credits, in a
file, a directory of files, or JSON Lines, into canonical movie rows with quarantine.

The snapshot time of each file comes from the caller, else a date and time in the file name
(`20240301T0600.jsonl`; a date alone, `popular_2024-03-01.json`, means the end of that day),
else the file's modification time.
Within one snapshot a movie appears once: of several records with the same id, the one with
the most votes is kept (the first read wins a tie) and the others are quarantined as duplicates.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from cinefeat.duck import connect
from cinefeat.sources._line_ranges import line_number_at, read_line_range
from cinefeat.sources._schema import MOVIES_SCHEMA, QUARANTINE_SCHEMA, LoadResult
from cinefeat.sources._tmdb_files import (
    UTF8_BOM,
    SnapshotTime,
    all_documents,
    files_table,
    find_files,
    line_documents,
    readable_documents,
)
from cinefeat.sources._tmdb_sql import NORMALISATIONS, records_sql, validated_sql

__all__ = ["SnapshotTime", "finish_load", "load_tmdb", "load_tmdb_lines", "snapshot_time"]


def snapshot_time(path: Path, given: datetime | None = None) -> SnapshotTime:
    """The caller's time, else a date (and time) in the file name (a date alone: the end of
    that day), else the file's mtime."""
    return SnapshotTime.of(path, given)


_CANONICAL = ", ".join(f'"{name}"' for name in MOVIES_SCHEMA)


def finish_load(
    connection: duckdb.DuckDBPyConnection,
    records: str,
    files: pl.DataFrame,
    params: dict[str, object] | None = None,
    unreadable: pl.DataFrame | None = None,
    errors: list[str] | None = None,
    keep_raw: bool = False,
) -> LoadResult:
    """Validate `records` (the `records_sql` columns) and split them into accepted and
    quarantined: within one snapshot a movie is kept once, the record with most votes (then the
    first read). Raw record text is carried for quarantined records (and with `keep_raw` for
    the accepted ones too, row for row, as extras["raw"]). `unreadable` are
    quarantine rows of what could not even be parsed (bad files or lines), counted as read."""
    unreadable = unreadable if unreadable is not None else pl.DataFrame(schema=QUARANTINE_SCHEMA)
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
        kept_raw = ", raw AS __raw" if keep_raw else ""
        accepted_sql = (
            f"SELECT {_CANONICAL}{kept_raw} FROM {table} WHERE rank = 1 "
            "ORDER BY file_order, position"
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
        read = connection.sql(f"SELECT count(*) FROM {table}_records").fetchall()[0][0]
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
    for source, count in unreadable.group_by("source").len().iter_rows():
        counted[source] = counted.get(source, 0) + count
    bad = unreadable.group_by("source").agg(
        whole=pl.col("reason").str.starts_with("unreadable file").any()
    )
    status = dict(bad.iter_rows())
    summary = files.with_columns(
        pl.col("source").replace_strict(counted, default=0, return_dtype=pl.Int64).alias("records"),
        pl.col("source")
        .replace_strict(
            {
                source: "unreadable" if whole else "some lines unreadable"
                for source, whole in status.items()
            },
            default="read",
            return_dtype=pl.String,
        )
        .alias("status"),
    ).drop("file_order")
    extras = {"files": summary}
    if keep_raw:
        extras["raw"] = accepted.select(raw=pl.col("__raw"))
        accepted = accepted.drop("__raw")
    return LoadResult(
        "movies",
        accepted.cast(pl.Schema(MOVIES_SCHEMA)),
        pl.concat([quarantined.cast(pl.Schema(QUARANTINE_SCHEMA)), unreadable]),
        read=int(read) + unreadable.height,
        normalised=normalised,
        errors=errors or [],
        extras=extras,
    )


def load_tmdb(
    path: str | Path | Sequence[str | Path],
    snapshot_ts: datetime | None = None,
    *,
    keep_raw: bool = False,
) -> LoadResult:
    """Load TMDB JSON from a file, a directory (recursively: *.json, *.jsonl, *.ndjson) or a
    list of files (loaded together: one movie twice in one snapshot is a duplicate across them).

    What cannot be parsed is reported in `errors` and quarantined, and everything else still
    loads: a bad line of a JSON Lines file is one quarantined record (by line number), any other
    file that cannot be parsed (truncated JSON, not UTF-8) one record with its byte position.
    With `keep_raw`, extras["raw"] holds each accepted record's JSON text, row for row.
    """
    if isinstance(path, str | Path):
        files = find_files(Path(path), snapshot_ts)
    else:
        files = [f for p in path for f in find_files(Path(p), snapshot_ts)]
    if not files:
        empty = LoadResult.empty("movies")
        empty.errors.append(f"no TMDB files (*.json, *.jsonl, *.ndjson) under {path}")
        return empty
    connection = connect()
    try:
        try:
            return finish_load(
                connection,
                records_sql(all_documents(files)),
                files_table(files),
                keep_raw=keep_raw,
            )
        except duckdb.Error:
            pass  # a file cannot be parsed: read what can be, file by file
        found = readable_documents(connection, files)
        try:
            return finish_load(
                connection,
                records_sql(found.relation),
                files_table(files),
                unreadable=found.rejected,
                errors=found.errors,
                keep_raw=keep_raw,
            )
        finally:
            for table in found.registered:
                connection.unregister(table)
    finally:
        connection.close()


def load_tmdb_lines(
    path: str | Path, start: int, end: int, when: SnapshotTime, *, keep_raw: bool = False
) -> LoadResult:
    """Load the lines of a JSON Lines file that begin in bytes [start, end) (see
    `line_ranges`), as `load_tmdb` loads a whole file: bad lines are quarantined by their line
    number in the file. Duplicates are found within these lines only."""
    path = Path(path)
    offset, data = read_line_range(path, start, end)
    if offset == 0:
        data = data.removeprefix(UTF8_BOM)  # as a whole-file read ignores it
    connection = connect()
    table = None
    try:
        table, good, rejected, message = line_documents(
            connection, path, data, when, lambda: line_number_at(path, offset)
        )
        return finish_load(
            connection,
            records_sql(f"({good})"),
            files_table([(path, when)]),
            unreadable=rejected,
            errors=[message] if message else [],
            keep_raw=keep_raw,
        )
    finally:
        if table is not None:
            connection.unregister(table)
        connection.close()
