"""Daily crawl dynamics of the synthetic world: popularity, vote_count and vote_average for
every movie on every crawl day, and the snapshot frame in MOVIES_SCHEMA.

All state is an (n_movies, days) matrix; the only loop is over days (for the AR(1) noise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from cinefeat.sources._schema import MOVIES_SCHEMA

if TYPE_CHECKING:
    from cinefeat.sources._synth_movies import Catalogue
    from cinefeat.sources.synthetic import WorldConfig

__all__ = ["POPULARITY_FLOOR", "Dynamics", "simulate", "snapshot_frame"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

POPULARITY_FLOOR = 0.6  # TMDB never shows less
_RAMP_DAYS = 7.0  # pre-release build-up time constant
_NOISE_RHO, _NOISE_SD = 0.8, 0.2  # day-to-day AR(1) noise on log popularity
_VOTE_SD = 1.8  # spread of single votes (1-10) around the movie's quality
_MAX_PAST_DAYS = 15 * 365  # older movies gathered votes at no faster rate


@dataclass(frozen=True)
class Dynamics:
    """The (n_movies, days) matrices: latent popularity, published popularity, vote counts,
    vote averages, and which movies each crawl shows."""

    latent: FloatArray
    popularity: FloatArray
    vote_count: IntArray
    vote_average: FloatArray
    visible: npt.NDArray[np.bool_]


def simulate(rng: np.random.Generator, config: WorldConfig, catalogue: Catalogue) -> Dynamics:
    """popularity(m, t) = base_m * (1 + boost_m * g(t - release_m)) * weekend(t) * exp(e_m,t)
    with g = exp(tau / 7) before release and exp(-tau / decay_days) after it, e an AR(1);
    new votes per day ~ Poisson(votes_per_popularity * popularity) once released; each day's
    new votes sum to round(n * quality + sqrt(n) * 1.8 * z) (single votes are integers 1-10)."""
    n, days = config.movies, config.days
    day = np.arange(days, dtype=np.int64)
    release = catalogue.release_day
    tau = (day[None, :] - release[:, None]).astype(np.float64)
    shape = np.where(
        tau < 0,
        np.exp(np.minimum(tau, 0) / _RAMP_DAYS),
        np.exp(-np.maximum(tau, 0) / config.decay_days),
    )
    weekday = (np.datetime64(config.start.date(), "D") + day).astype("datetime64[D]").view(np.int64)
    weekend = np.where((weekday + 3) % 7 >= 5, 1.08, 1.0)  # 1970-01-01 was a Thursday
    noise = np.empty((n, days))
    e = rng.normal(0, _NOISE_SD, size=n)
    innovation = _NOISE_SD * np.sqrt(1 - _NOISE_RHO**2)
    for t in range(days):
        e = _NOISE_RHO * e + innovation * rng.standard_normal(n)
        noise[:, t] = e
    latent: FloatArray = (
        catalogue.base_popularity[:, None]
        * (1 + catalogue.release_boost[:, None] * shape)
        * weekend[None, :]
        * np.exp(noise)
    )
    popularity: FloatArray = np.maximum(latent, POPULARITY_FLOOR).round(3)

    # Votes gathered before the crawl: the steady rate over the movie's (capped) age plus
    # what its release burst brought.
    k = config.votes_per_popularity
    age = np.maximum(-release, 0).astype(np.float64)
    burst = catalogue.release_boost * config.decay_days * (1 - np.exp(-age / config.decay_days))
    prior_mean = k * catalogue.base_popularity * (np.minimum(age, _MAX_PAST_DAYS) + burst)
    prior_votes = rng.poisson(prior_mean).astype(np.int64)
    new_votes = rng.poisson(k * latent * (tau >= 0)).astype(np.int64)
    quality = catalogue.quality
    prior_sum = _vote_sums(rng, prior_votes, quality)
    new_sums = _vote_sums(rng, new_votes, quality[:, None])
    vote_count = prior_votes[:, None] + np.cumsum(new_votes, axis=1)
    vote_sum = prior_sum[:, None] + np.cumsum(new_sums, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        vote_average = np.where(vote_count > 0, np.round(vote_sum / vote_count, 3), 0.0)
    visible = tau >= -config.lead_days
    return Dynamics(latent, popularity, vote_count, vote_average, visible)


def _vote_sums(
    rng: np.random.Generator, votes: IntArray, quality: FloatArray
) -> npt.NDArray[np.float64]:
    """The sum of `votes` integer votes around `quality`, kept within [votes, 10 * votes]."""
    mean_sum = votes * quality + np.sqrt(votes) * _VOTE_SD * rng.standard_normal(votes.shape)
    result: FloatArray = np.clip(np.round(mean_sum), votes, 10 * votes).astype(np.float64)
    return result


def snapshot_frame(config: WorldConfig, catalogue: Catalogue, dynamics: Dynamics) -> pl.DataFrame:
    """One row per visible movie per crawl day, in MOVIES_SCHEMA, ordered by day then id."""
    day_idx, movie_idx = np.nonzero(dynamics.visible.T)
    static = catalogue.frame.select(
        [c for c in MOVIES_SCHEMA.names() if c in catalogue.frame.columns]
    )[movie_idx]
    start_us = int(config.start.timestamp() * 1_000_000) + config.crawl_hour * 3_600_000_000
    dynamic = pl.DataFrame(
        {
            "popularity": dynamics.popularity[movie_idx, day_idx],
            "vote_average": dynamics.vote_average[movie_idx, day_idx],
            "vote_count": dynamics.vote_count[movie_idx, day_idx],
            "snapshot_ts": start_us + day_idx.astype(np.int64) * 86_400_000_000,
        }
    )
    return (
        pl.concat([static, dynamic], how="horizontal")
        .with_columns(pl.col("snapshot_ts").cast(MOVIES_SCHEMA["snapshot_ts"]))
        .select(MOVIES_SCHEMA.names())
        .cast(MOVIES_SCHEMA)
    )
