"""Loading TMDB API JSON: list pages, detail objects, collections, lists, person credits, in a
file, a directory of files, or JSON Lines, into canonical movie rows with quarantine.

The snapshot time of each file comes from the caller, else a date in the file name
(`popular_2024-03-01.json`, `20240301T0600.jsonl`), else the file's modification time.
Within one snapshot a movie appears once: of several records with the same id, the one with
the most votes is kept (the first read wins a tie) and the others are quarantined as duplicates.
"""

from __future__ import annotations

import re
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

__all__ = ["SnapshotTime", "load_tmdb", "load_tmdb_records", "snapshot_time"]

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


def _read_file(connection: duckdb.DuckDBPyConnection, path: Path) -> pl.DataFrame:
    json_format = "newline_delimited" if path.suffix.lower() in {".jsonl", ".ndjson"} else "auto"
    source = (
        f"(SELECT json AS doc FROM read_json_objects({sql_string(str(path))}, "
        f"format = '{json_format}', maximum_object_size = 268435456))"
    )
    sql = validated_sql(records_sql(source))
    return pl.from_arrow(connection.sql(sql).to_arrow_table())  # type: ignore[return-value]


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


def load_tmdb_records(
    frames: list[tuple[pl.DataFrame, str, SnapshotTime]],
    errors: list[str],
    unreadable: list[pl.DataFrame],
) -> LoadResult:
    """Combine validated rows of several sources into one LoadResult: split accepted from
    quarantined, drop duplicates within each snapshot, count normalisations."""
    rows = (
        pl.concat(
            [
                frame.with_columns(
                    pl.lit(source).alias("source"),
                    pl.lit(when.moment).cast(MOVIES_SCHEMA["snapshot_ts"]).alias("snapshot_ts"),
                    pl.lit(order).alias("file_order"),
                )
                for order, (frame, source, when) in enumerate(frames)
            ],
            how="diagonal_relaxed",
        )
        if frames
        else None
    )
    if rows is None or rows.is_empty():
        quarantined = (
            pl.concat(unreadable) if unreadable else pl.DataFrame(schema=QUARANTINE_SCHEMA)
        )
        return LoadResult("movies", pl.DataFrame(schema=MOVIES_SCHEMA), quarantined, errors=errors)

    valid = rows.filter(pl.col("problems") == "")
    ranked = valid.sort(
        ["snapshot_ts", "movie_id", "vote_count", "file_order", "doc_no", "position"],
        descending=[False, False, True, False, False, False],
    ).with_columns(
        (pl.int_range(pl.len()).over("snapshot_ts", "movie_id") == 0).alias("kept"),
        pl.col("source").first().over("snapshot_ts", "movie_id").alias("kept_source"),
    )
    accepted = ranked.filter("kept")
    duplicates = ranked.filter(~pl.col("kept")).with_columns(
        pl.format(
            "duplicate: movie_id {} appears again in snapshot {}; kept the record with the most "
            "votes (from {})",
            "movie_id",
            pl.col("snapshot_ts").dt.to_string("%Y-%m-%dT%H:%M:%SZ"),
            "kept_source",
        ).alias("problems")
    )
    rejected = pl.concat(
        [rows.filter(pl.col("problems") != ""), duplicates], how="diagonal_relaxed"
    )
    quarantined = pl.concat(
        [
            rejected.select(
                pl.lit("movies").alias("kind"),
                "raw",
                pl.col("problems").alias("reason"),
                "source",
                "snapshot_ts",
            ),
            *unreadable,
        ]
    )
    normalised = {
        name: int(count)
        for name, count in accepted.select(pl.col(list(NORMALISATIONS)).sum())
        .row(0, named=True)
        .items()
        if count
    }
    canonical = accepted.sort("file_order", "doc_no", "position").select(
        pl.col(name).cast(dtype) for name, dtype in MOVIES_SCHEMA.items()
    )
    return LoadResult("movies", canonical, quarantined, normalised=normalised, errors=errors)


def load_tmdb(path: str | Path, snapshot_ts: datetime | None = None) -> LoadResult:
    """Load TMDB JSON from a file or a directory (recursively: *.json, *.jsonl, *.ndjson).

    A file that cannot be parsed (truncated JSON, not UTF-8) is reported in `errors` with its
    name and position, counted as one quarantined record, and the other files still load.
    """
    files = _files(Path(path))
    connection = connect()
    frames: list[tuple[pl.DataFrame, str, SnapshotTime]] = []
    errors: list[str] = []
    unreadable: list[pl.DataFrame] = []
    sources = []
    try:
        for file in files:
            when = snapshot_time(file, snapshot_ts)
            try:
                frame = _read_file(connection, file)
            except duckdb.Error as exc:
                errors.append(f"{file}: {str(exc).splitlines()[0]}")
                unreadable.append(_unreadable(file, exc, when))
                sources.append((str(file), when, 1, f"unreadable: {str(exc).splitlines()[0]}"))
                continue
            frames.append((frame, str(file), when))
            sources.append((str(file), when, frame.height, "read"))
    finally:
        connection.close()
    result = load_tmdb_records(frames, errors, unreadable)
    result.extras["files"] = pl.DataFrame(
        {
            "source": [s[0] for s in sources],
            "snapshot_ts": [s[1].moment for s in sources],
            "snapshot_from": [s[1].origin for s in sources],
            "records": [s[2] for s in sources],
            "status": [s[3] for s in sources],
        },
        schema={
            "source": pl.String,
            "snapshot_ts": MOVIES_SCHEMA["snapshot_ts"],
            "snapshot_from": pl.String,
            "records": pl.Int64,
            "status": pl.String,
        },
    )
    return result
