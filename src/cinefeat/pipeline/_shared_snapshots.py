"""Movies given twice in one snapshot across partitions (chunks of a big crawl file, the other
files of its snapshot, TMDB-5000 files given one snapshot time): each partition was
deduplicated on its own when loaded; here each movie is kept once per snapshot across them, as
`load_tmdb` keeps it within one load (most votes, then the first read), and the others go to
the quarantine with their original text.

Workers hand on, per such partition, the identity, votes and raw text of every accepted row
(`SHARED_ROWS`); those parts never change, so every attempt (a resumed run) finds the same
duplicates, and removing them from a partition's `movies` part can be redone safely.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from cinefeat.pipeline._partitions import Partition
from cinefeat.pipeline._stage import Datasets, staged_dataset, staged_files
from cinefeat.sources import MOVIES_SCHEMA, QUARANTINE_SCHEMA, LoadResult

__all__ = ["SHARED_ROWS", "quarantine_shared_duplicates", "shared_rows"]

SHARED_ROWS = "movies:shared_snapshot_rows"
_QUARANTINE_PART = "_duplicates_across_partitions"
_MOVIE = ["snapshot_ts", "movie_id"]


def shared_rows(result: LoadResult) -> pl.DataFrame:
    """What a partition sharing its snapshot hands on: each accepted row's identity, votes
    and JSON text (the loader's, when it kept it; else the row as loaded)."""
    rows = result.accepted.select(*_MOVIE, "vote_count")
    raw = result.extras.get("raw")
    if raw is not None:
        return rows.with_columns(raw=raw.get_column("raw"))
    as_loaded = result.accepted.select(pl.struct(MOVIES_SCHEMA.names()).struct.json_encode())
    return rows.with_columns(raw=as_loaded.to_series())


def _losers(datasets: Datasets, partitions: Sequence[Partition]) -> pl.DataFrame | None:
    frames = []
    for order, partition in enumerate(partitions):
        frame = datasets.get(SHARED_ROWS, partition.key)
        if frame is not None:
            frames.append(
                frame.with_columns(
                    __part=pl.lit(order),
                    __row=pl.int_range(pl.len()),
                    __source=pl.lit(str(partition.files[0])),
                )
            )
    if not frames:
        return None
    ranked = (
        pl.concat(frames)
        .sort(["vote_count", "__part", "__row"], descending=[True, False, False], nulls_last=True)
        .with_columns(
            __rank=pl.int_range(pl.len()).over(_MOVIE),
            __kept=pl.col("__source").first().over(_MOVIE),
        )
    )
    return ranked.filter(pl.col("__rank") > 0)


def quarantine_shared_duplicates(
    datasets: Datasets, partitions: Sequence[Partition], raw_view: str, offline_root: Path
) -> int:
    """Quarantine the duplicates across the partitions that share a snapshot (a quarantine
    part), and remove them from their partitions' `movies` parts; a part that changes also
    loses the files its worker staged for `raw_view` (its rows are written by the parent).
    Returns how many were quarantined."""
    shared = [p for p in partitions if p.shares_snapshot]
    losers = _losers(datasets, shared)
    if losers is None or losers.is_empty():
        return 0
    reason = pl.format(
        "duplicate: movie_id {} appears again in snapshot {}; kept the record with the most "
        "votes (from {})",
        pl.col("movie_id"),
        pl.col("snapshot_ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        pl.col("__kept"),
    )
    quarantined = losers.sort("__part", "__row").select(
        kind=pl.lit("movies"),
        raw=pl.col("raw"),
        reason=reason,
        source=pl.col("__source"),
        snapshot_ts=pl.col("snapshot_ts"),
    )
    datasets.put("quarantine", quarantined.cast(pl.Schema(QUARANTINE_SCHEMA)), _QUARANTINE_PART)
    for order in losers.get_column("__part").unique().sort():
        partition = shared[order]
        frame = datasets.get("movies", partition.key)
        assert frame is not None
        # A movie appears once per partition (its loader saw to that): its identity is a row.
        gone = losers.filter(pl.col("__part") == order).select(_MOVIE)
        kept = frame.join(gone, on=_MOVIE, how="anti")
        if kept.height == frame.height:
            continue  # an earlier attempt removed them already
        staged = staged_files(datasets, raw_view, [partition.key])
        datasets.drop(staged_dataset(raw_view), partition.key)  # the marker first, then files
        for part in staged:
            for file in part.paths(offline_root):
                file.unlink(missing_ok=True)
        datasets.put("movies", kept, partition.key, datasets.meta("movies", partition.key))
    return losers.height
