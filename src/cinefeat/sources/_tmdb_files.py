"""Finding TMDB JSON files, their snapshot times, and reading them as JSON documents for
DuckDB, keeping every readable document even when some of a file cannot be parsed.

A JSON Lines file with bad lines keeps its good lines (the bad ones are quarantined with their
line number); any other file that cannot be parsed is quarantined whole.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from cinefeat.errors import CinefeatError
from cinefeat.sources._line_ranges import lines_array
from cinefeat.sources._schema import MOVIES_SCHEMA, QUARANTINE_SCHEMA
from cinefeat.sqltext import sql_string
from cinefeat.timeutil import as_utc

__all__ = [
    "UTF8_BOM",
    "JsonDocuments",
    "SnapshotTime",
    "all_documents",
    "files_table",
    "find_files",
    "is_json_lines",
    "line_documents",
    "literal_path",
    "readable_documents",
]

_JSON_SUFFIXES = {".json", ".jsonl", ".ndjson"}
_LINES_SUFFIXES = {".jsonl", ".ndjson"}
_NAME_TIME = re.compile(
    r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?:[T_ -]?(\d{2})[:-]?(\d{2})(?:[:-]?(\d{2}))?)?(?!\d)"
)
_PREVIEW_BYTES = 2_000
UTF8_BOM = b"\xef\xbb\xbf"  # some editors start UTF-8 files with it; JSON readers skip it


@dataclass(frozen=True)
class SnapshotTime:
    moment: datetime
    origin: str  # "caller", "file name" or "file mtime"

    @classmethod
    def of(cls, path: Path, given: datetime | None = None) -> SnapshotTime:
        """The caller's time, else a date (and time) in the file name, else the file's mtime.

        A date without a time means the end of that day: the crawl happened some time during
        it, and stamping it at the day's start would show its values before they existed."""
        if given is not None:
            return cls(as_utc(given), "caller")
        for match in _NAME_TIME.finditer(path.name):
            year, month, day, hour, minute, second = (int(p) if p else 0 for p in match.groups())
            try:
                moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except ValueError:  # 20241399 is not a date: keep looking
                continue
            if match.group(4) is None:
                moment += timedelta(days=1)
            return cls(moment, "file name")
        return cls(datetime.fromtimestamp(path.stat().st_mtime, UTC), "file mtime")


def find_files(path: Path, snapshot_ts: datetime | None) -> list[tuple[Path, SnapshotTime]]:
    """The file, or the directory's *.json / *.jsonl / *.ndjson files (recursively, sorted)."""
    if path.is_file():
        found = [path]
    elif path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.suffix.lower() in _JSON_SUFFIXES)
    else:
        raise CinefeatError(f"load_tmdb: {path} does not exist")
    return [(file, SnapshotTime.of(file, snapshot_ts)) for file in found]


def files_table(files: list[tuple[Path, SnapshotTime]]) -> pl.DataFrame:
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


def literal_path(path: Path) -> str:
    """`path` as a DuckDB file pattern that matches only itself: DuckDB globs every path, so a
    `*`, `?` or `[` in a file name is escaped as a one-character class."""
    escaped = re.sub(r"([*?\[])", r"[\1]", str(path))
    return sql_string(escaped)


def _scan(paths: list[Path], lines: bool) -> str:
    listed = ", ".join(literal_path(p) for p in paths)
    json_format = "newline_delimited" if lines else "auto"
    return (
        f"SELECT json AS doc, filename FROM read_json_objects([{listed}], format = "
        f"'{json_format}', filename = true, maximum_object_size = 268435456)"
    )


def is_json_lines(path: Path) -> bool:
    return path.suffix.lower() in _LINES_SUFFIXES


def all_documents(files: list[tuple[Path, SnapshotTime]]) -> str:
    """The documents of all `files` (a relation with `doc` and `filename`), one scan per format
    so DuckDB reads the files in parallel. Fails if any file cannot be parsed: then
    `readable_documents` finds out what can be read."""
    lines = [p for p, _ in files if is_json_lines(p)]
    documents = [p for p, _ in files if not is_json_lines(p)]
    scans = [_scan(chosen, flag) for chosen, flag in ((lines, True), (documents, False)) if chosen]
    scans = scans or ["SELECT NULL::JSON AS doc, NULL::VARCHAR AS filename WHERE false"]
    return "(" + " UNION ALL ".join(scans) + ")"


@dataclass
class JsonDocuments:
    """What can be read of some files: `relation` (SQL with `doc` and `filename` columns),
    the quarantine rows of what cannot (one per bad file or line), a message per file with
    problems, and the tables registered on the connection for the relation."""

    relation: str
    rejected: pl.DataFrame
    errors: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)


def _rejected(path: Path, raw: list[str], reasons: list[str], when: SnapshotTime) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "kind": ["movies"] * len(raw),
            "raw": raw,
            "reason": reasons,
            "source": [str(path)] * len(raw),
            "snapshot_ts": [when.moment] * len(raw),
        },
        schema=QUARANTINE_SCHEMA,
    )


def line_documents(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    data: bytes,
    when: SnapshotTime,
    first_line: Callable[[], int] = lambda: 1,
) -> tuple[str, str, pl.DataFrame, str | None]:
    """JSON Lines `data` (lines of `path`, the first of them line `first_line()`, asked only
    when a line is bad): registers its lines as a table and returns that table, the relation
    of its good lines, the bad lines as quarantine rows (by line number) and a message (None
    when every line is good)."""
    table = f"cf_lines_{uuid.uuid4().hex}"
    lines = lines_array(data)
    numbers = pa.array(np.arange(len(lines), dtype=np.int64))
    connection.register(table, pa.table({"line": numbers, "raw": lines}))
    blank = "' ' || chr(9) || chr(10) || chr(13)"
    checked = (
        f"(SELECT line, raw, text FROM (SELECT line, raw, TRY(decode(raw)) AS text FROM {table}) "
        f"WHERE text IS NULL OR length(trim(text, {blank})) > 0)"
    )
    bad = connection.sql(
        f"SELECT line, raw, text IS NULL FROM {checked} "
        "WHERE text IS NULL OR NOT json_valid(text) ORDER BY line"
    ).fetchall()
    good = (
        f"SELECT text::JSON AS doc, {sql_string(str(path))} AS filename FROM {checked} "
        "WHERE text IS NOT NULL AND json_valid(text)"
    )
    if not bad:
        return table, good, _rejected(path, [], [], when), None
    first = first_line()
    preview = [
        raw[:_PREVIEW_BYTES].rstrip(b"\n").decode("utf-8", errors="replace") for _, raw, _ in bad
    ]
    reasons = [
        f"unreadable line: line {first + index} is {'not UTF-8' if not_utf8 else 'not valid JSON'}"
        for index, _, not_utf8 in bad
    ]
    message = f"{path}: {len(bad)} unreadable line(s), the first is line {first + bad[0][0]}"
    return table, good, _rejected(path, preview, reasons, when), message


def readable_documents(
    connection: duckdb.DuckDBPyConnection, files: list[tuple[Path, SnapshotTime]]
) -> JsonDocuments:
    """The documents that can be read, file by file (see the module docstring)."""
    readable: list[tuple[Path, SnapshotTime]] = []
    salvaged: list[str] = []
    found = JsonDocuments("", pl.DataFrame(schema=QUARANTINE_SCHEMA))
    for path, when in files:
        try:
            connection.sql(
                f"SELECT count(*) FROM ({_scan([path], is_json_lines(path))})"
            ).fetchall()
        except duckdb.Error as exc:
            if is_json_lines(path):
                data = path.read_bytes().removeprefix(UTF8_BOM)
                table, good, rejected, lines_message = line_documents(connection, path, data, when)
                message = lines_message or f"{path}: {str(exc).splitlines()[0]}"
                found.registered.append(table)
                salvaged.append(good)
            else:
                message = str(exc).splitlines()[0]
                with path.open("rb") as handle:
                    preview = handle.read(_PREVIEW_BYTES).decode("utf-8", errors="replace")
                reason = f"unreadable file: {message}"
                rejected = _rejected(path, [preview], [reason], when)
                message = f"{path}: {message}"
            found.rejected = pl.concat([found.rejected, rejected])
            found.errors.append(message)
        else:
            readable.append((path, when))
    found.relation = "(" + " UNION ALL ".join([all_documents(readable), *salvaged]) + ")"
    return found
