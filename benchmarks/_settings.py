"""Sizes and repetitions of a benchmark run (full or --quick), and where files go."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cinefeat.sources import SyntheticConfig
from cinefeat.sources.synthetic import WorldConfig

__all__ = [
    "BENCH_DIR",
    "DATA_DIR",
    "FEATURES",
    "MOVIE_FEATURES",
    "PROJECT_ROOT",
    "RESULTS_DIR",
    "USER_FEATURES",
    "Settings",
    "settings_for",
]

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / ".data"
RESULTS_DIR = BENCH_DIR / "results"

STAT_FEATURES = ("rating_count", "avg_rating", "ratings_1d", "avg_rating_1d", "max_rating")
USER_FEATURES = tuple(f"user_stats:{name}" for name in STAT_FEATURES)
MOVIE_FEATURES = tuple(f"movie_stats:{name}" for name in STAT_FEATURES)
FEATURES = (*USER_FEATURES, *MOVIE_FEATURES)  # all 10 features of the two views

START = datetime(2024, 1, 1, tzinfo=UTC)  # the TMDB crawl's first day (a UTC midnight)


@dataclass(frozen=True)
class Settings:
    """Everything that differs between a full and a quick run."""

    name: str  # "full" or "quick"
    synthetic: SyntheticConfig
    large_entity_rows: int  # historical benchmark 1 (1,000,000 in the issue)
    small_entity_rows: int  # historical benchmark 2 (100,000 in the issue)
    entity_seed: int
    runs: int  # fresh-process repetitions per historical/materialize measurement (median)
    cli_runs: int  # whole-process repetitions for import / apply (median)
    online_calls: int  # timed get_online_features calls per variant (1 entity)
    online_batch_calls: int  # timed calls per variant (100 entities)
    online_batch_size: int
    # movies: the synthetic TMDB crawl (movies x days list-page records) loaded end to end.
    tmdb_world: WorldConfig
    # user_activity: the rating events, and the seed of the world whose catalogue gives the
    # movies they reference (genres, popularity) one snapshot each before the events start.
    activity_events: SyntheticConfig
    activity_movies_seed: int
    # pipeline: the crawl (daily files, one partition each) that Pipeline.run() processes end
    # to end, and the small crawl of many one-file snapshots whose no-op rerun is timed.
    pipeline_world: WorldConfig
    noop_world: WorldConfig

    @property
    def quick(self) -> bool:
        return self.name == "quick"


FULL = Settings(
    name="full",
    synthetic=SyntheticConfig(
        n_users=10_000, n_movies=5_000, days=365, popularity_exponent=0.75, seed=42
    ),
    large_entity_rows=1_000_000,
    small_entity_rows=100_000,
    entity_seed=7,
    runs=3,
    cli_runs=5,
    online_calls=5_000,
    online_batch_calls=2_000,
    online_batch_size=100,
    # 982,910 records in 100 daily files (movies join the crawl 60 days before release).
    tmdb_world=WorldConfig(movies=10_000, users=2_000, days=100, start=START, seed=42),
    # 10,012,439 rating events in 2024.
    activity_events=SyntheticConfig(
        n_users=18_700,
        n_movies=5_000,
        days=365,
        extra_ratings_per_day=2.5,
        popularity_exponent=0.75,
        seed=42,
    ),
    activity_movies_seed=42,
    # 1,964,504 records in 100 daily files (836 MB).
    pipeline_world=WorldConfig(movies=20_000, users=1, days=100, start=START, seed=42),
    # 1,000 daily files of 2 list pages each (39,657 records).
    noop_world=WorldConfig(movies=40, users=1, days=1_000, start=START, seed=42),
)

QUICK = Settings(
    name="quick",
    synthetic=SyntheticConfig(
        n_users=1_000, n_movies=500, days=90, popularity_exponent=0.75, seed=42
    ),
    large_entity_rows=10_000,
    small_entity_rows=1_000,
    entity_seed=7,
    runs=1,
    cli_runs=2,
    online_calls=2_000,
    online_batch_calls=300,
    online_batch_size=100,
    tmdb_world=WorldConfig(movies=1_000, users=200, days=50, start=START, seed=42),  # 49,610
    activity_events=SyntheticConfig(  # 203,392 events
        n_users=370,
        n_movies=500,
        days=365,
        extra_ratings_per_day=2.5,
        popularity_exponent=0.75,
        seed=42,
    ),
    activity_movies_seed=42,
    pipeline_world=WorldConfig(movies=1_000, users=1, days=20, start=START, seed=42),
    noop_world=WorldConfig(movies=40, users=1, days=50, start=START, seed=42),
)


def settings_for(quick: bool, runs: int | None = None) -> Settings:
    from dataclasses import replace

    chosen = QUICK if quick else FULL
    return chosen if runs is None else replace(chosen, runs=runs, cli_runs=max(runs, 1))
