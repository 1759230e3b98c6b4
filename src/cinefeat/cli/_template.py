"""`cinefeat init`: a small working repo (definitions, config and generated sample data)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cinefeat.errors import CinefeatError

__all__ = ["write_example_repo"]

CONFIG = """\
# cinefeat repo configuration. Paths are relative to this file's directory.
project: {project}
registry: data/registry.db          # or a URL, e.g. postgresql://user@host/db (cinefeat[postgres])
offline_store:
  path: data/offline                # Delta tables of managed feature views
online_store:
  type: sqlite
  path: data/online.db
cache:
  enabled: true
  max_entries: 100000
  ttl_seconds: 60
"""

FEATURES = '''\
"""Feature definitions of this repo. `cinefeat apply` registers every Entity, FeatureView and
FeatureService defined at module level in the repo's Python files."""

from datetime import timedelta

from cinefeat import FeatureService, FeatureView, Field, FileSource
from cinefeat.sources import MOVIE as movie, USER as user, rating_events, tmdb_movies
from cinefeat.transforms import (  # the movie-domain groups pipeline.yaml computes
    movie_basic,
    movie_statistical,
    movie_temporal,
    movie_text,
    recommender_v1,
    user_activity,
    user_movie,
    user_recency,
)
from cinefeat.types import Float64, Int64

user_stats = FeatureView(
    name="user_stats",
    entities=[user],
    schema=[
        Field("user_id", Int64),
        Field("rating_count", Int64, description="Ratings given up to this day"),
        Field("avg_rating", Float64, description="Mean rating given up to this day"),
        Field("ratings_1d", Int64, description="Ratings given on this day"),
        Field("avg_rating_1d", Float64, description="Mean rating given on this day"),
    ],
    source=FileSource("data/sources/user_stats.parquet", timestamp_field="event_timestamp"),
    ttl=timedelta(days=30),
    description="Daily rating activity per user",
    owner="recsys@example.com",
    tags={{"team": "recsys"}},
)

movie_stats = FeatureView(
    name="movie_stats",
    entities=[movie],
    schema=[
        Field("movie_id", Int64),
        Field("rating_count", Int64, description="Ratings received up to this day"),
        Field("avg_rating", Float64, description="Mean rating received up to this day"),
        Field("ratings_1d", Int64, description="Ratings received on this day"),
    ],
    source=FileSource("data/sources/movie_stats.parquet", timestamp_field="event_timestamp"),
    ttl=timedelta(days=30),
    description="Daily rating activity per movie",
    owner="recsys@example.com",
)

movie_ranking_v1 = FeatureService(
    name="movie_ranking_v1",
    features=[user_stats[["rating_count", "avg_rating"]], movie_stats],
    description="Features of the first movie-ranking model",
)
'''

PIPELINE = """\
# A feature pipeline: `cinefeat pipeline run pipeline.yaml` (again: only new or changed files).
feature_pipeline:
  name: tmdb_daily
  inputs:
    movies:  {loader: tmdb_json, path: data/raw/tmdb/}          # daily TMDB list-page crawls
    ratings: {loader: movielens_latest, path: data/raw/movielens/}
  stages:
    - name: data_validation           # load, quarantine what is invalid, store the raw rows
      type: DataValidationStage
    - name: feature_extraction
      type: FeatureExtractionStage
      params: {groups: [movie_basic, movie_temporal, movie_statistical, movie_text, user_activity]}
    - name: feature_validation
      type: FeatureValidationStage
      params: {on_failure: quarantine}   # or fail, warn
    - name: store
      type: FeatureStoreWriteStage
      params: {materialize: true}
  execution: {workers: 2, chunk_rows: 200000}
  incremental: true
"""

README = """\
# {project}

A cinefeat repo made by `cinefeat init`. Sample data ({days} days of synthetic ratings, up to
{end}) is in `data/sources/`; raw synthetic TMDB crawls and MovieLens ratings are in
`data/raw/`, which `pipeline.yaml` turns into the movie feature groups.

    cinefeat apply                                   # register features.py
    cinefeat pipeline run pipeline.yaml              # raw data -> features, offline and online
    cinefeat features list
    cinefeat materialize-incremental {end}           # load latest values online
    cinefeat get-online -f user_stats:rating_count -f movie_stats:avg_rating \\
        -e user_id=1 -e movie_id=2
"""


def write_example_repo(target: Path, *, days: int = 60, seed: int = 7) -> datetime:
    """Write the example repo into `target`; returns the time the sample data ends."""
    from cinefeat.sources import SyntheticConfig, generate_rating_events
    from cinefeat.sources.synthetic import WorldConfig, generate_world, write_world
    from cinefeat.transforms import daily_movie_stats, daily_user_stats

    if (target / "cinefeat.yaml").exists():
        raise CinefeatError(f"{target} already holds a cinefeat repo (cinefeat.yaml exists)")
    target.mkdir(parents=True, exist_ok=True)
    project = "".join(c if c.isalnum() else "_" for c in target.resolve().name) or "cinefeat"
    if project[0].isdigit():
        project = f"repo_{project}"
    # The sample ends at today's midnight, so it is fresh (inside the views' ttl) when served.
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=days)
    config = SyntheticConfig(n_users=500, n_movies=300, days=days, start=start, seed=seed)
    events = generate_rating_events(config)
    sources = target / "data" / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    daily_user_stats(events).drop("max_rating").write_parquet(sources / "user_stats.parquet")
    daily_movie_stats(events).drop("max_rating", "avg_rating_1d").write_parquet(
        sources / "movie_stats.parquet"
    )
    end = config.start + timedelta(days=config.days)
    (target / "cinefeat.yaml").write_text(CONFIG.format(project=project), encoding="utf-8")
    (target / "features.py").write_text(FEATURES.format(), encoding="utf-8")
    (target / "pipeline.yaml").write_text(PIPELINE, encoding="utf-8")
    world = WorldConfig(movies=300, users=200, days=14, start=today - timedelta(days=14), seed=seed)
    write_world(generate_world(world), target / "data" / "raw")
    (target / "README.md").write_text(
        README.format(project=project, days=days, end=end.date().isoformat()), encoding="utf-8"
    )
    return end.astimezone(UTC)
