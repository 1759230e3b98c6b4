"""Writing a load's results into a repo: accepted rows to the raw views, the quarantine to its
Delta table, each in one commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import polars as pl

from cinefeat.offline import WriteResult, write_quarantine
from cinefeat.sources import LoadResult, rating_events, source_views, tmdb_movies

if TYPE_CHECKING:
    from cinefeat.store._store import FeatureStore

__all__ = ["IngestReport", "ingest_load"]


@dataclass(frozen=True)
class IngestReport:
    load: LoadResult
    written: WriteResult
    quarantine: WriteResult


def _as_view_rows(result: LoadResult) -> pl.DataFrame:
    if result.kind == "movies":
        # Feature views have no date type: a release date is midnight UTC of that day.
        return result.accepted.with_columns(pl.col("release_date").cast(pl.Datetime("us", "UTC")))
    return result.accepted


def ingest_load(store: FeatureStore, result: LoadResult) -> IngestReport:
    """Register the raw views if needed, then write the accepted rows and the quarantine."""
    names = {v.name for v in store.list_feature_views()}
    missing = [v for v in source_views() if v.name not in names]
    if missing:
        store.apply(missing)
    view = tmdb_movies if result.kind == "movies" else rating_events
    # Loading the same files again (a rerun, an overlapping crawl) must not store rows twice.
    written = store.write_offline(view.name, _as_view_rows(result), skip_existing=True)
    loaded_at = pl.lit(datetime.now(UTC)).cast(pl.Datetime("us", "UTC")).alias("loaded_at")
    quarantine = result.quarantined.with_columns(loaded_at).to_arrow()
    return IngestReport(result, written, write_quarantine(store.offline_store.root, quarantine))
