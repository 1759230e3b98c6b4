"""DataValidationStage: load each input partition with its loader (quarantining what is
invalid), then replace that partition's rows in the raw views `tmdb_movies` / `rating_events`,
so features are always computed from what the store holds."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from cinefeat.pipeline._partitions import Partition
from cinefeat.pipeline._stage import PartitionOutput, Stage, StageContext, StageReport
from cinefeat.registry import OutputRecord
from cinefeat.sources import (
    LoadResult,
    load_movielens,
    load_tmdb,
    load_tmdb5000,
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
    if partition.loader == "tmdb_json":
        return load_tmdb(list(partition.files), partition.snapshot_ts)
    if partition.loader == "tmdb5000":
        return load_tmdb5000(partition.files[0], partition.snapshot_ts)
    return load_movielens(partition.load_path)


class DataValidationStage(Stage):
    reads = ("inputs",)
    writes = ("movies", "ratings", "quarantine", "tmdb_movies", "rating_events")

    def process_partition(
        self, partition: Partition, inputs: Mapping[str, pl.DataFrame | None]
    ) -> PartitionOutput:
        result = _load(partition)
        return PartitionOutput(
            frames={result.kind: result.accepted, "quarantine": result.quarantined},
            rows_read=result.read,
            rows_written=result.accepted_count,
            rows_quarantined=result.quarantined_count,
            messages=[result.summary(), *result.errors],
        )

    def run(self, context: StageContext) -> StageReport:
        store, datasets = context.store, context.datasets
        names = {v.name for v in store.list_feature_views()}
        if missing := [v for v in source_views() if v.name not in names]:
            store.apply(missing)
        report = StageReport()
        movies = datasets.scan("movies")
        if movies is not None:
            report.outputs.append(self._replace_movies(context, movies.collect()))
        ratings_parts = datasets.parts("ratings")
        if ratings_parts:
            report.outputs.append(self._replace_ratings(context, ratings_parts))
        quarantine = datasets.scan("quarantine")
        if quarantine is not None:
            report.outputs.append(quarantine_output(store, quarantine))
        return report

    def _replace_movies(self, context: StageContext, movies: pl.DataFrame) -> OutputRecord:
        movie_parts = [p for p in context.partitions if p.kind == "movies"]
        stamps = sorted({t for p in movie_parts for t in (p.snapshot_ts, *p.replaces) if t})
        stamps_frame = pl.DataFrame(
            {"snapshot_ts": stamps}, schema={"snapshot_ts": pl.Datetime("us", "UTC")}
        )
        context.datasets.put(CHANGED_MOVIES, stamps_frame)
        rows = tmdb_movie_rows(movies)
        result = context.store.replace_offline(
            tmdb_movies.name,
            rows,
            lambda ids: ids.join(stamps_frame.lazy(), on="snapshot_ts", how="semi"),
        )
        version = context.store.get_feature_view(tmdb_movies.name).version
        return OutputRecord(
            tmdb_movies.name, version, result.table, result.delta_version, len(rows)
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
