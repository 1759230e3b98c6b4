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

from cinefeat import Entity, FeatureService, FeatureView, Field, FileSource
from cinefeat.types import Float64, Int64

user = Entity("user", join_keys=["user_id"], description="A person who rates movies")
movie = Entity("movie", join_keys=["movie_id"], description="A TMDB movie")

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

README = """\
# {project}

A cinefeat repo made by `cinefeat init`. Sample data ({days} days of synthetic ratings, up to
{end}) is in `data/sources/`.

    cinefeat apply                                   # register features.py
    cinefeat features list
    cinefeat materialize-incremental {end}           # load latest values online
    cinefeat get-online -f user_stats:rating_count -f movie_stats:avg_rating \\
        -e user_id=1 -e movie_id=2
"""


def write_example_repo(target: Path, *, days: int = 60, seed: int = 7) -> datetime:
    """Write the example repo into `target`; returns the time the sample data ends."""
    from cinefeat.sources import SyntheticConfig, generate_rating_events
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
    (target / "README.md").write_text(
        README.format(project=project, days=days, end=end.date().isoformat()), encoding="utf-8"
    )
    return end.astimezone(UTC)
