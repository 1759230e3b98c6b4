"""Writing a load's results into a repo: accepted rows to the raw views, the quarantine to its
Delta table, each in one commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import polars as pl

from cinefeat.offline import WriteResult, write_quarantine
from cinefeat.sources import (
    LoadResult,
    rating_events,
    source_views,
    tmdb_movie_rows,
    tmdb_movies,
)

if TYPE_CHECKING:
    from cinefeat.store._store import FeatureStore

__all__ = ["IngestReport", "add_to_quarantine", "ingest_load"]


@dataclass(frozen=True)
class IngestReport:
    load: LoadResult
    written: WriteResult
    quarantine: WriteResult


def add_to_quarantine(store: FeatureStore, records: pl.DataFrame | pl.LazyFrame) -> WriteResult:
    """Write quarantined records (QUARANTINE_SCHEMA) to the repo's quarantine table, stamped
    with the time they were loaded; records already there are not added again."""
    loaded_at = pl.lit(datetime.now(UTC)).cast(pl.Datetime("us", "UTC")).alias("loaded_at")
    rows = records.lazy().with_columns(loaded_at).collect().to_arrow()
    return write_quarantine(store.offline_store.root, rows)


def _as_view_rows(result: LoadResult) -> pl.DataFrame:
    return tmdb_movie_rows(result.accepted) if result.kind == "movies" else result.accepted


def ingest_load(store: FeatureStore, result: LoadResult) -> IngestReport:
    """Register the raw views if needed, then write the accepted rows and the quarantine."""
    names = {v.name for v in store.list_feature_views()}
    missing = [v for v in source_views() if v.name not in names]
    if missing:
        store.apply(missing)
    view = tmdb_movies if result.kind == "movies" else rating_events
    # Loading the same files again (a rerun, an overlapping crawl) must not store rows twice.
    written = store.write_offline(view.name, _as_view_rows(result), skip_existing=True)
    return IngestReport(result, written, add_to_quarantine(store, result.quarantined))
