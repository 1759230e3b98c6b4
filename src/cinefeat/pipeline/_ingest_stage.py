"""DataValidationStage: load each input partition with its loader (quarantining what is
invalid), then replace that partition's rows in the raw views `tmdb_movies` / `rating_events`,
so features are always computed from what the store holds."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import polars as pl
from pydantic import BaseModel

from cinefeat.definitions import FeatureView
from cinefeat.offline import stage_rows, storage_schema, to_arrow_table
from cinefeat.pipeline._partitions import Partition
from cinefeat.pipeline._shared_snapshots import (
    SHARED_ROWS,
    quarantine_shared_duplicates,
    shared_rows,
)
from cinefeat.pipeline._stage import (
    PartitionOutput,
    Stage,
    StageContext,
    StageReport,
    kill_point,
    put_staged,
    staged_dataset,
    staged_files,
)
from cinefeat.registry import OutputRecord
from cinefeat.sources import (
    LoadResult,
    SnapshotTime,
    load_movielens,
    load_tmdb,
    load_tmdb5000,
    load_tmdb_lines,
    rating_events,
    source_views,
    tmdb_movie_rows,
    tmdb_movies,
)
from cinefeat.store import FeatureStore

__all__ = ["CHANGED_MOVIES", "CHANGED_RATINGS", "DataValidationStage", "quarantine_output"]

# Datasets this stage hands on: which snapshots changed, and which ratings (old and new rows of
# every changed MovieLens partition), so later stages recompute only what they affect.
CHANGED_MOVIES = "changes:movies"
CHANGED_RATINGS = "changes:ratings"
_RATING_ID = ["user_id", "movie_id", "event_timestamp"]
_RATING_IDS = "rating_ids"


def quarantine_output(store: FeatureStore, records: pl.DataFrame | pl.LazyFrame) -> OutputRecord:
    """Add quarantined records to the repo's quarantine table; the run record's output line."""
    written = store.write_quarantine(records)
    return OutputRecord("_quarantine", None, written.table, written.delta_version, written.rows)


def _load(partition: Partition) -> LoadResult:
    if partition.byte_range is not None:
        assert partition.snapshot_ts is not None  # crawl partitions always have one
        start, end = partition.byte_range
        when = SnapshotTime(partition.snapshot_ts, "caller")
        return load_tmdb_lines(
            partition.files[0], start, end, when, keep_raw=partition.shares_snapshot
        )
    if partition.loader == "tmdb_json":
        return load_tmdb(
            list(partition.files), partition.snapshot_ts, keep_raw=partition.shares_snapshot
        )
    if partition.loader == "tmdb5000":
        return load_tmdb5000(partition.files[0], partition.snapshot_ts)
    return load_movielens(partition.load_path)


def _apply_source_views(store: FeatureStore) -> None:
    names = {v.name for v in store.list_feature_views()}
    if missing := [v for v in source_views() if v.name not in names]:
        store.apply(missing)


class DataValidationStage(Stage):
    """Per partition (in the workers): load it, and write its accepted movies as uncommitted
    data files of `tmdb_movies`. Then (in the parent): commit them, replacing the partitions'
    snapshots in one commit; replace the changed ratings; add the rejects to the quarantine."""

    reads = ("inputs",)
    writes = ("movies", "ratings", "quarantine", "tmdb_movies", "rating_events")

    def __init__(self, name: str, params: BaseModel | None = None) -> None:
        super().__init__(name, params)
        self._movies_view: FeatureView | None = None  # set by prepare, for the workers
        self._offline_root: Path | None = None
        self._run_id = ""

    def prepare(self, context: StageContext) -> None:
        _apply_source_views(context.store)
        self._movies_view = context.store.get_feature_view(tmdb_movies.name)
        self._offline_root = context.store.offline_store.root
        self._run_id = context.run_id

    def process_partition(
        self, partition: Partition, inputs: Mapping[str, pl.DataFrame | None]
    ) -> PartitionOutput:
        result = _load(partition)
        output = PartitionOutput(
            frames={result.kind: result.accepted, "quarantine": result.quarantined},
            rows_read=result.read,
            rows_written=result.accepted_count,
            rows_quarantined=result.quarantined_count,
            messages=[result.summary(), *result.errors],
        )
        if partition.shares_snapshot and result.kind == "movies":
            output.frames[SHARED_ROWS] = shared_rows(result)
        if result.kind == "movies" and self._movies_view and self._offline_root:
            rows = to_arrow_table(tmdb_movie_rows(result.accepted))
            # One stem per run and partition: a redone partition overwrites its files.
            stem = f"{self._run_id}-{hashlib.sha256(partition.key.encode()).hexdigest()[:16]}"
            staged = stage_rows(self._movies_view, self._offline_root, rows, stem)
            put_staged(output, tmdb_movies.name, staged)
        return output

    def run(self, context: StageContext) -> StageReport:
        store, datasets = context.store, context.datasets
        _apply_source_views(store)
        report = StageReport()
        root = store.offline_store.root
        if duplicates := quarantine_shared_duplicates(
            datasets, context.partitions, tmdb_movies.name, root
        ):
            # Counted as written by their partitions, they are quarantined after all.
            report.rows_written -= duplicates
            report.rows_quarantined += duplicates
            report.messages.append(
                f"{duplicates:,} movie(s) given twice in one snapshot, in different chunks: "
                "quarantined as duplicates"
            )
        kill_point(f"{self.name}:deduplicated")
        if datasets.parts("movies"):
            report.outputs.append(self._replace_movies(context))
        ratings_parts = datasets.parts("ratings")
        if ratings_parts:
            report.outputs.append(self._replace_ratings(context, ratings_parts))
        quarantine = datasets.scan("quarantine")
        if quarantine is not None:
            report.outputs.append(quarantine_output(store, quarantine))
        return report

    def _replace_movies(self, context: StageContext) -> OutputRecord:
        movie_parts = [p for p in context.partitions if p.kind == "movies"]
        stamps = sorted({t for p in movie_parts for t in (p.snapshot_ts, *p.replaces) if t})
        stamps_frame = pl.DataFrame(
            {"snapshot_ts": stamps}, schema={"snapshot_ts": pl.Datetime("us", "UTC")}
        )
        context.datasets.put(CHANGED_MOVIES, stamps_frame)
        # Workers wrote most partitions' rows ahead; the others (rewritten here) are read.
        parts = context.datasets.parts("movies")
        staged = staged_files(context.datasets, tmdb_movies.name, parts)
        done = set(context.datasets.parts(staged_dataset(tmdb_movies.name)))
        frames = [context.datasets.get("movies", p) for p in parts if p not in done]
        movies = pl.concat([f for f in frames if f is not None]) if frames else None
        rows = (
            tmdb_movie_rows(movies)
            if movies is not None
            else storage_schema(tmdb_movies).empty_table()
        )
        result = context.store.replace_offline(
            tmdb_movies.name,
            rows,
            lambda ids: ids.join(stamps_frame.lazy(), on="snapshot_ts", how="semi"),
            staged,
        )
        version = context.store.get_feature_view(tmdb_movies.name).version
        return OutputRecord(
            tmdb_movies.name,
            version,
            result.table,
            result.delta_version,
            result.inserted + result.updated,
        )

    def _replace_ratings(self, context: StageContext, parts: list[str]) -> OutputRecord:
        new_rows, old_ids = [], []
        for part in parts:
            frame = context.datasets.get("ratings", part)
            assert frame is not None
            new_rows.append(frame)
            # The rows this partition's files gave when a run last succeeded: those of them
            # that are gone now must leave the store (and their users' features change).
            if (previous := context.recalled(_RATING_IDS, part)) is not None:
                old_ids.append(previous)
        rows = pl.concat(new_rows)
        old = pl.concat(old_ids) if old_ids else rows.select(_RATING_ID).clear()
        touched = pl.concat([old, rows.select(_RATING_ID)]).unique()
        context.datasets.put(CHANGED_RATINGS, touched)
        result = context.store.replace_offline(
            rating_events.name,
            rows,
            lambda ids: ids.join(touched.lazy(), on=_RATING_ID, how="semi"),
        )
        for part, frame in zip(parts, new_rows, strict=True):
            context.remember(_RATING_IDS, part, frame.select(_RATING_ID))
        version = context.store.get_feature_view(rating_events.name).version
        return OutputRecord(
            rating_events.name, version, result.table, result.delta_version, len(rows)
        )
