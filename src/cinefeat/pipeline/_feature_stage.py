"""FeatureExtractionStage: the movie feature groups and user_activity, recomputed only where
this run's input changed them.

- movie_basic, movie_temporal, movie_text read one row each: computed per partition, in the
  workers, for the changed snapshots.
- movie_statistical reads a snapshot's whole catalogue and each movie's earlier snapshots (its
  previous one, and the last 7 days): a changed snapshot also changes later rows of its movies.
  Those rows are found and recomputed from the stored crawls.
- user_activity's windows: the users with changed ratings, from the first changed day on (and
  every user who rated after a changed snapshot, whose genres and popularity it supplies).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict

from cinefeat.pipeline._ingest_stage import CHANGED_MOVIES, CHANGED_RATINGS
from cinefeat.pipeline._partitions import Partition
from cinefeat.pipeline._stage import PartitionOutput, Stage, StageContext, StageReport
from cinefeat.sources import rating_events, tmdb_movies
from cinefeat.store import FeatureStore
from cinefeat.transforms import (
    MOVIE_GROUPS,
    movie_statistical_features,
    user_activity,
    user_activity_features,
)

__all__ = ["FEATURE_GROUPS", "FeatureExtractionStage", "feature_dataset", "scan_view"]

GroupName = Literal[
    "movie_basic", "movie_temporal", "movie_statistical", "movie_text", "user_activity"
]
FEATURE_GROUPS: tuple[GroupName, ...] = (
    "movie_basic",
    "movie_temporal",
    "movie_statistical",
    "movie_text",
    "user_activity",
)
# Groups that read one row each (the others need whole snapshots or history).
_ROW_LOCAL = {g: MOVIE_GROUPS[g][1] for g in ("movie_basic", "movie_temporal", "movie_text")}
_TREND_DAYS = 7
_VIEWS = {**MOVIE_GROUPS, "user_activity": (user_activity, None)}
UTC_US = pl.Datetime("us", "UTC")


def _day_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def _users_since(rows: pl.LazyFrame, since: datetime) -> pl.DataFrame:
    """The users of `rows`, each to recompute from `since`."""
    return (
        rows.select("user_id")
        .unique()
        .with_columns(event_timestamp=pl.lit(since).cast(UTC_US))
        .collect()
    )


def feature_dataset(group: str) -> str:
    return f"features:{group}"


def scan_view(
    store: FeatureStore, name: str, columns: list[str] | None = None
) -> pl.LazyFrame | None:
    """A managed view's stored rows (its latest Delta version) as a LazyFrame over the table's
    Parquet files, reading only `columns`; None when nothing was written yet."""
    view = store.get_feature_view(name)
    snapshot = store.offline_store.snapshot(view)
    if not snapshot.files:
        return None
    frame = pl.scan_parquet(list(snapshot.files))
    return frame.select(columns) if columns else frame


class FeatureExtractionParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    groups: tuple[GroupName, ...] = FEATURE_GROUPS


def affected_movie_rows(stored: pl.DataFrame, changed: list[datetime]) -> pl.DataFrame:
    """The (movie_id, snapshot_ts) rows of `stored` whose movie_statistical values a change of
    the `changed` snapshots can alter: a row at t reads its own snapshot, the movie's previous
    snapshot p and its snapshots in (t - 7 days, t]; so it is affected when a changed snapshot
    falls in [min(p, t - 7 days), t] (a movie added to or dropped from a snapshot there moves
    its "previous snapshot" too). With no previous snapshot now, any earlier change counts: the
    movie may have been dropped from what was its previous one."""
    if not changed or stored.is_empty():
        return stored.select("movie_id", "snapshot_ts").clear()
    rows = stored.select("movie_id", "snapshot_ts").unique().sort("movie_id", "snapshot_ts")
    rows = rows.with_columns(previous=pl.col("snapshot_ts").shift(1).over("movie_id"))
    window_start = pl.col("snapshot_ts") - timedelta(days=_TREND_DAYS)
    earliest = datetime(1, 1, 1, tzinfo=UTC)
    low = pl.min_horizontal(pl.col("previous").fill_null(earliest), window_start)
    stamps = np.sort(np.array([int(c.timestamp() * 1_000_000) for c in changed], dtype=np.int64))
    lo = rows.select(low.dt.epoch("us")).to_series().to_numpy()
    hi = rows["snapshot_ts"].dt.epoch("us").to_numpy()
    hit = np.searchsorted(stamps, lo, side="left") < np.searchsorted(stamps, hi, side="right")
    return rows.filter(pl.Series(hit)).select("movie_id", "snapshot_ts")


class FeatureExtractionStage(Stage):
    reads = ("movies", "ratings", CHANGED_MOVIES, CHANGED_RATINGS, "tmdb_movies", "rating_events")
    writes = tuple(feature_dataset(g) for g in FEATURE_GROUPS)
    Params = FeatureExtractionParams

    def process_partition(
        self, partition: Partition, inputs: Mapping[str, pl.DataFrame | None]
    ) -> PartitionOutput:
        movies = inputs.get("movies")
        output = PartitionOutput()
        if movies is None:
            return output
        groups = [g for g in self.params.groups if g in _ROW_LOCAL]  # type: ignore[attr-defined]
        own = [partition.snapshot_ts] if partition.snapshot_ts else []
        stamps = [t.isoformat() for t in (*own, *partition.replaces)]
        for group in groups:
            frame = _ROW_LOCAL[group](movies)
            output.frames[feature_dataset(group)] = frame
            output.meta[feature_dataset(group)] = {"slice": {"stamps": stamps}}
            output.rows_written += frame.height
        output.rows_read = movies.height
        return output

    def run(self, context: StageContext) -> StageReport:
        report = StageReport()
        groups = self.params.groups  # type: ignore[attr-defined]
        known = {v.name for v in context.store.list_feature_views()}
        if missing := [v for v, _ in _VIEWS.values() if v.name in groups and v.name not in known]:
            context.store.apply(missing)
        if "movie_statistical" in groups:
            report.rows_written += self._movie_statistical(context)
        if "user_activity" in groups:
            report.rows_written += self._user_activity(context)
        return report

    def _movie_statistical(self, context: StageContext) -> int:
        changed_frame = context.datasets.get(CHANGED_MOVIES)
        if changed_frame is None or changed_frame.is_empty():
            return 0
        changed = changed_frame["snapshot_ts"].to_list()
        columns = ["movie_id", "snapshot_ts", "popularity", "vote_average", "vote_count"]
        stored = scan_view(context.store, tmdb_movies.name, columns)
        if stored is None:
            return 0
        stamps_stored = stored.select(pl.col("snapshot_ts").unique()).collect().to_series()
        everything = bool(stamps_stored.is_in(pl.Series(changed).implode()).all())
        if everything:  # a first run: every row is recomputed, no search needed
            affected = None
            first = stamps_stored.min()
        else:
            ids = stored.select("movie_id", "snapshot_ts").collect()
            affected = affected_movie_rows(ids, changed)
            first = affected["snapshot_ts"].min()
        # Inputs: every row of the affected snapshots (catalogue statistics) and, before the
        # first one, the last week plus each movie's latest row (trend statistics).
        if first is None:
            return 0
        window_start = first - timedelta(days=_TREND_DAYS)  # type: ignore[operator]
        recent = stored.filter(pl.col("snapshot_ts") >= window_start)
        before = (
            stored.filter(pl.col("snapshot_ts") < window_start)
            .sort("snapshot_ts")
            .group_by("movie_id")
            .last()
        )
        inputs = pl.concat([before.select(columns), recent], how="vertical").collect()
        features = movie_statistical_features(inputs)
        if affected is not None:
            features = features.join(
                affected.rename({"snapshot_ts": "event_timestamp"}),
                on=["movie_id", "event_timestamp"],
                how="semi",
            )
        stamps = sorted({t.isoformat() for t in changed})
        context.datasets.put(
            feature_dataset("movie_statistical"),
            features,
            meta={"slice": {"stamps": stamps}},
        )
        return features.height

    def _user_activity(self, context: StageContext) -> int:
        changed_ratings = context.datasets.get(CHANGED_RATINGS)
        changed_movies = context.datasets.get(CHANGED_MOVIES)
        ratings = scan_view(
            context.store, rating_events.name, ["user_id", "movie_id", "rating", "event_timestamp"]
        )
        if ratings is None:
            return 0
        touched: list[pl.DataFrame] = []
        if changed_ratings is not None and not changed_ratings.is_empty():
            touched.append(changed_ratings.select("user_id", "event_timestamp"))
        if changed_movies is not None and not changed_movies.is_empty():
            first_snapshot = changed_movies["snapshot_ts"].min()
            later = ratings.filter(pl.col("event_timestamp") >= first_snapshot)
            touched.append(later.select("user_id", "event_timestamp").collect())
        # Rows stop at the boundary after the last rating. When that moves on, every user with
        # a rating inside the longest window gains boundaries (ratings leaving windows); when it
        # moves back (the latest ratings were removed), rows after it must go.
        last_rating = ratings.select(pl.col("event_timestamp").max()).collect().item()
        if last_rating is None:
            return 0
        until = _day_start(last_rating) + timedelta(days=1)
        stored = scan_view(context.store, user_activity.name, ["user_id", "event_timestamp"])
        reached = (
            None
            if stored is None
            else stored.select(pl.col("event_timestamp").max()).collect().item()
        )
        if reached is not None and until > reached:
            longest = max(a.window_days or 0 for a in user_activity.aggregations)
            active = ratings.filter(pl.col("event_timestamp") >= reached - timedelta(days=longest))
            touched.append(_users_since(active, reached))
        elif stored is not None and reached is not None and until < reached:
            touched.append(_users_since(stored.filter(pl.col("event_timestamp") > until), until))
        touched = [frame for frame in touched if not frame.is_empty()]
        if not touched:
            return 0
        changes = pl.concat(touched).group_by("user_id").agg(since=pl.col("event_timestamp").min())
        # A day's boundary row covers the whole day: recompute from that day's start.
        since = _day_start(changes["since"].min())  # type: ignore[arg-type]
        users = changes.select("user_id")
        events = ratings.join(users.lazy(), on="user_id", how="semi").collect()
        movie_columns = ["movie_id", "snapshot_ts", "popularity", "genre_ids"]
        movies = scan_view(context.store, tmdb_movies.name, movie_columns)
        movies_frame = (
            movies.collect()
            if movies is not None
            else pl.DataFrame(
                schema={
                    "movie_id": pl.Int64,
                    "snapshot_ts": UTC_US,
                    "popularity": pl.Float64,
                    "genre_ids": pl.List(pl.Int64),
                }
            )
        )
        features = user_activity_features(events, movies_frame, since=since, until=until)
        entities = context.datasets.put("user_activity_entities", users)
        context.datasets.put(
            feature_dataset("user_activity"),
            features,
            meta={"slice": {"entities": str(entities), "since": since.isoformat()}},
        )
        return features.height
