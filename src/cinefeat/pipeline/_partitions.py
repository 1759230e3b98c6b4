"""A pipeline's inputs as partitions: the unit of parallel work, of incremental reprocessing
and of resume. A TMDB crawl partition is the files of one snapshot time (one movie twice in a
snapshot is a duplicate even across files); a MovieLens partition is one MovieLens directory."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from cinefeat.errors import CinefeatError
from cinefeat.sources._line_ranges import line_ranges
from cinefeat.sources._tmdb_files import SnapshotTime, find_files, is_json_lines

__all__ = ["LOADER_KINDS", "Partition", "discover_partitions", "split_large_files"]

# What each loader kind yields.
LOADER_KINDS = {"tmdb_json": "movies", "tmdb5000": "movies", "movielens": "ratings"}
_MOVIELENS_RATINGS = ("ratings.csv", "u.data")


@dataclass(frozen=True)
class Partition:
    """One unit of input. `key` is stable across runs (it names the partition's work files and
    checkpoints); `files` are what its fingerprint covers."""

    input: str
    loader: str
    key: str
    files: tuple[Path, ...]
    snapshot_ts: datetime | None = None  # TMDB crawls: the snapshot the files belong to
    snapshot_from: str | None = None  # "caller", "file name" or "file mtime"
    # Snapshots whose stored rows this partition's rows replace besides its own: a file whose
    # snapshot time is its mtime moves to another snapshot when it is edited.
    replaces: tuple[datetime, ...] = ()
    # A chunk of a big JSON Lines file: the lines of files[0] that begin in these bytes.
    byte_range: tuple[int, int] | None = None
    # Other partitions hold rows of the same snapshot: duplicates across them are found later.
    shares_snapshot: bool = False

    @property
    def kind(self) -> str:
        return LOADER_KINDS[self.loader]

    @property
    def load_path(self) -> Path:
        """What the loader reads: the MovieLens directory, or the single file."""
        return self.files[0].parent if self.loader == "movielens" else self.files[0]


def _tmdb_partitions(name: str, path: Path, snapshot_ts: datetime | None) -> list[Partition]:
    by_time: dict[datetime, list[tuple[Path, SnapshotTime]]] = {}
    for file, when in find_files(path, snapshot_ts):
        by_time.setdefault(when.moment, []).append((file, when))
    return [
        Partition(
            name,
            "tmdb_json",
            f"{name}@{moment.isoformat()}",  # full precision: mtimes differ by microseconds
            tuple(file for file, _ in found),
            moment,
            "file mtime" if any(w.origin == "file mtime" for _, w in found) else found[0][1].origin,
        )
        for moment, found in sorted(by_time.items())
    ]


def _tmdb5000_partitions(name: str, path: Path, snapshot_ts: datetime | None) -> list[Partition]:
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    return [
        Partition(
            name,
            "tmdb5000",
            f"{name}@{file.stem}",
            (file,),
            SnapshotTime.of(file, snapshot_ts).moment,
        )
        for file in files
    ]


def _movielens_partitions(name: str, path: Path) -> list[Partition]:
    directories = (
        [path] if path.is_file() else [path, *sorted(p for p in path.rglob("*") if p.is_dir())]
    )
    found = []
    for directory in directories:
        if directory.is_file():
            directory = directory.parent
        if not any((directory / f).is_file() for f in _MOVIELENS_RATINGS):
            continue
        files = tuple(
            sorted(f for f in directory.iterdir() if f.is_file() and not f.name.startswith("."))
        )
        relative = directory.relative_to(path) if directory != path and path.is_dir() else Path(".")
        label = "root" if str(relative) == "." else relative.as_posix()
        found.append(Partition(name, "movielens", f"{name}@{label}", files))
    return found


def discover_partitions(
    inputs: Mapping[str, tuple[str, Path, datetime | None]],
) -> list[Partition]:
    """Every partition of the inputs ({name: (loader, path, snapshot_ts)}), in input order."""
    partitions: list[Partition] = []
    problems = [
        f"input {name!r}: {path} does not exist"
        for name, (_, path, _) in inputs.items()
        if not path.exists()
    ]
    if problems:
        raise CinefeatError("; ".join(problems))
    for name, (loader, path, snapshot_ts) in inputs.items():
        if loader == "tmdb_json":
            partitions += _tmdb_partitions(name, path, snapshot_ts)
        elif loader == "tmdb5000":
            partitions += _tmdb5000_partitions(name, path, snapshot_ts)
        else:
            partitions += _movielens_partitions(name, path)
    # Movie partitions of one snapshot (TMDB-5000 files given one snapshot_ts) are deduplicated
    # across each other once loaded.
    snapshots = Counter(p.snapshot_ts for p in partitions if p.kind == "movies")
    partitions = [
        replace(p, shares_snapshot=True)
        if p.kind == "movies" and snapshots[p.snapshot_ts] > 1
        else p
        for p in partitions
    ]
    keys = [p.key for p in partitions]
    if len(set(keys)) != len(keys):  # keys name work files and checkpoints: never share one
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        raise CinefeatError(f"two partitions share the key(s) {repeated}")
    return partitions


def split_large_files(partition: Partition, chunk_rows: int, root: Path) -> list[Partition]:
    """A TMDB crawl partition with a JSON Lines file of more than about `chunk_rows` lines, as
    one partition per file and the big files as one per line range (keys name the file, under
    the input path `root`, and the range); any other partition as it is."""
    if partition.loader != "tmdb_json":
        return [partition]
    # A file of no more bytes than chunk_rows cannot hold more lines: no need to sample it.
    ranges = {
        file: line_ranges(file, chunk_rows)
        for file in partition.files
        if is_json_lines(file) and file.stat().st_size > chunk_rows
    }
    if all(len(found) <= 1 for found in ranges.values()):
        return [partition]
    chunks = []
    for file in partition.files:
        name = file.relative_to(root).as_posix() if root.is_dir() else file.name
        found = ranges.get(file, [])
        if len(found) <= 1:
            chunks.append(
                replace(
                    partition, key=f"{partition.key}#{name}", files=(file,), shares_snapshot=True
                )
            )
            continue
        chunks += [
            replace(
                partition,
                key=f"{partition.key}#{name}:{number}/{len(found)}",
                files=(file,),
                byte_range=byte_range,
                shares_snapshot=True,
            )
            for number, byte_range in enumerate(found, start=1)
        ]
    return chunks
