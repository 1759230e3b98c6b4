"""Seeded synthetic data with realistic shape.

`generate_rating_events` is the small rating-event generator behind `cinefeat init`'s sample repo:
users differ in how often they rate, movies follow a Zipf popularity curve, ratings lean on
each movie's own quality.

`generate_world` builds a whole movie world: a TMDB-like catalogue (ids, titles in several
languages and scripts, genres, release dates, quality, runtime, budget, revenue), daily crawl
snapshots (popularity peaking at release and decaying, vote counts growing, vote averages
converging to quality) and users with tastes whose ratings follow quality, taste and
leniency. `write_world` writes it as the real sources look: TMDB list pages as JSON Lines and
MovieLens ml-latest CSVs.

The same seed gives the same data on every machine (numpy's PCG64).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from cinefeat.errors import ConfigError
from cinefeat.sources._synth_dynamics import simulate, snapshot_frame
from cinefeat.sources._synth_movies import generate_catalogue
from cinefeat.sources._synth_ratings import generate_ratings, generate_users
from cinefeat.sources._synth_write import write_movielens, write_tmdb

__all__ = [
    "SyntheticConfig",
    "World",
    "WorldConfig",
    "generate_rating_events",
    "generate_world",
    "write_world",
]


@dataclass(frozen=True)
class SyntheticConfig:
    n_users: int = 1_000
    n_movies: int = 500
    days: int = 90
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    # Mean share of days a user rates anything; each user's own rate varies around it.
    user_activity: float = 0.42
    # Ratings per active user-day: 1 + Poisson(extra_ratings_per_day).
    extra_ratings_per_day: float = 2.0
    # Zipf exponent of movie popularity: larger means a longer, thinner tail.
    popularity_exponent: float = 0.55
    seed: int = 42


def generate_rating_events(config: SyntheticConfig = SyntheticConfig()) -> pl.DataFrame:
    """Rating events: user_id, movie_id, rating (0.5 to 5.0 in halves), event_timestamp (UTC).

    Vectorised end to end; 10,000 users over a year (about 6M events) take a few seconds.
    """
    rng = np.random.default_rng(config.seed)
    n_users, days = config.n_users, config.days
    # Beta(a, b) with mean user_activity: most users are occasional, a few rate daily.
    a = 2.0
    b = a * (1 - config.user_activity) / config.user_activity
    activity = rng.beta(a, b, size=n_users)
    active = rng.random((n_users, days)) < activity[:, None]
    user_idx, day_idx = np.nonzero(active)
    per_day = 1 + rng.poisson(config.extra_ratings_per_day, size=user_idx.size)
    users = np.repeat(user_idx, per_day)
    event_days = np.repeat(day_idx, per_day)
    n_events = users.size

    ranks = np.arange(1, config.n_movies + 1, dtype=np.float64)
    popularity = ranks**-config.popularity_exponent
    popularity /= popularity.sum()
    movie_ids = rng.permutation(config.n_movies)  # popularity rank is not id order
    movies = movie_ids[rng.choice(config.n_movies, size=n_events, p=popularity)]

    quality = rng.normal(3.5, 0.6, size=config.n_movies)
    leniency = rng.normal(0.0, 0.4, size=n_users)
    raw = quality[movies] + leniency[users] + rng.normal(0.0, 0.8, size=n_events)
    ratings = np.clip(np.round(raw * 2) / 2, 0.5, 5.0)

    start_us = int(config.start.timestamp() * 1_000_000)
    offsets = event_days.astype(np.int64) * 86_400_000_000 + rng.integers(
        0, 86_400_000_000, size=n_events
    )
    events = pl.DataFrame(
        {
            "user_id": (users + 1).astype(np.int64),
            "movie_id": (movies + 1).astype(np.int64),
            "rating": ratings,
            "event_timestamp": start_us + offsets,
        }
    ).with_columns(pl.col("event_timestamp").cast(pl.Datetime("us", "UTC")))
    return events.sort("event_timestamp")


@dataclass(frozen=True)
class WorldConfig:
    """Size, period, seed and the rates of a synthetic movie world.

    Crawl day t (0 <= t < days) is `start + t days`, crawled at `crawl_hour` UTC."""

    movies: int = 5_000
    users: int = 2_000
    days: int = 30
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC)  # UTC midnight of the first crawl day
    seed: int = 42
    crawl_hour: int = 6
    # Ratings per user over the period: 1 + Poisson(log-normal with this mean - 1, sd below).
    ratings_per_user: float = 25.0
    user_activity_sigma: float = 1.3
    # Steady popularity: top_popularity * rank ** -popularity_exponent (Zipf-like).
    top_popularity: float = 250.0
    popularity_exponent: float = 0.8
    # Release burst: peak at release_boost (log-normal mean) times the steady level, decaying
    # with time constant decay_days.
    release_boost: float = 15.0
    decay_days: float = 21.0
    # Unreleased movies join the crawl lead_days before release; future_share of the catalogue
    # is released during or just after the crawl; unknown_release_share has no published date.
    lead_days: int = 60
    future_share: float = 0.06
    unknown_release_share: float = 0.01
    # New TMDB votes per day per unit of popularity.
    votes_per_popularity: float = 0.015
    # Users: Dirichlet concentration of genre tastes (lower = pickier), how strongly choices
    # follow popularity (exponent) and taste (weight of log affinity).
    taste_concentration: float = 1.0
    popularity_bias: float = 0.8
    taste_bias: float = 1.5

    def __post_init__(self) -> None:
        for name in ("movies", "users", "days"):
            if getattr(self, name) < 1:
                raise ConfigError(f"WorldConfig.{name} must be at least 1")
        if self.start.utcoffset() != timedelta(0):
            raise ConfigError("WorldConfig.start must be timezone-aware UTC")
        if self.start.time() != time(0):
            raise ConfigError("WorldConfig.start must be a UTC midnight")
        if not 0 <= self.crawl_hour <= 23:
            raise ConfigError("WorldConfig.crawl_hour must be within 0-23")
        if self.ratings_per_user < 1:
            raise ConfigError("WorldConfig.ratings_per_user must be at least 1")
        if not 0 <= self.future_share <= 0.9 or not 0 <= self.unknown_release_share <= 1:
            raise ConfigError("WorldConfig shares must be within [0, 1] (future_share <= 0.9)")
        for name in ("decay_days", "top_popularity", "taste_concentration"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"WorldConfig.{name} must be positive")
        for name in ("lead_days", "release_boost", "votes_per_popularity", "user_activity_sigma"):
            if getattr(self, name) < 0:
                raise ConfigError(f"WorldConfig.{name} must not be negative")


@dataclass(frozen=True)
class World:
    """A generated world.

    movies: one row per movie (static): movie_id (TMDB), imdb_id, movielens_id, the list-page
      attributes, runtime/budget/revenue (null when unknown), latent `quality` (0-10) and
      `base_popularity`; sorted by movie_id.
    snapshots: one row per movie per crawl day in MOVIES_SCHEMA (movies appear from
      `lead_days` before release), sorted by snapshot_ts then movie_id.
    ratings: RATINGS_SCHEMA with movie_id the TMDB id, sorted by event_timestamp.
    users: user_id, expected_ratings, leniency, whole_stars, favourite_genre_id and `taste`
      (shares over genres in `cinefeat.sources._synth_movies.GENRE_IDS` order).
    """

    config: WorldConfig
    movies: pl.DataFrame
    snapshots: pl.DataFrame
    ratings: pl.DataFrame
    users: pl.DataFrame


def generate_world(config: WorldConfig = WorldConfig()) -> World:
    """Generate a world; each part draws from its own PCG64 stream spawned from `seed`, so the
    catalogue and crawls do not change when only the users change."""
    movie_rng, dynamics_rng, user_rng, rating_rng = np.random.default_rng(config.seed).spawn(4)
    catalogue = generate_catalogue(movie_rng, config)
    dynamics = simulate(dynamics_rng, config, catalogue)
    users = generate_users(user_rng, config)
    ratings = generate_ratings(rating_rng, config, catalogue, dynamics, users)
    return World(
        config=config,
        movies=catalogue.frame,
        snapshots=snapshot_frame(config, catalogue, dynamics),
        ratings=ratings,
        users=users.frame,
    )


def write_world(world: World, out_dir: Path | str) -> dict[str, list[Path]]:
    """Write `tmdb/popular_YYYY-MM-DD.jsonl`, one per crawl day (named
    `popular_YYYY-MM-DDTHH-00.jsonl` unless crawled at midnight, so loaders reading the time
    from the name get the crawl time), and `movielens/{ratings,movies,links}.csv` under
    `out_dir`; returns the paths by source ("tmdb", "movielens")."""
    out = Path(out_dir)
    return {"tmdb": write_tmdb(world, out), "movielens": write_movielens(world, out)}
