"""Users and rating events of the synthetic world.

Users differ in activity (log-normal, so a few rate a lot and most rarely), leniency, whether
they use half stars, and genre taste (a Dirichlet over TMDB genres). Each rating picks a movie
by sampling-importance-resampling: K candidates drawn in proportion to that day's popularity
(released movies only), one kept with probability proportional to exp(taste_bias * affinity).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from cinefeat.sources._schema import RATINGS_SCHEMA
from cinefeat.sources._synth_movies import GENRE_IDS, GENRE_WEIGHTS

if TYPE_CHECKING:
    from cinefeat.sources._synth_dynamics import Dynamics
    from cinefeat.sources._synth_movies import Catalogue
    from cinefeat.sources.synthetic import WorldConfig

__all__ = ["Users", "affinity", "generate_ratings", "generate_users"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_CANDIDATES = 8
_BLOCK = 250_000  # rating events per candidate block
_RATING_MEAN, _QUALITY_CENTRE, _QUALITY_WEIGHT = 3.3, 6.3, 0.5
_TASTE_WEIGHT, _LENIENCY_SD, _RATING_NOISE_SD = 0.4, 0.35, 0.6
_WHOLE_STAR_SHARE = 0.35


@dataclass(frozen=True)
class Users:
    frame: pl.DataFrame
    expected_ratings: FloatArray
    leniency: FloatArray
    whole_stars: npt.NDArray[np.bool_]
    lift: FloatArray  # (n_users, genres): taste share over the genre's base share


def generate_users(rng: np.random.Generator, config: WorldConfig) -> Users:
    n = config.users
    sigma = config.user_activity_sigma
    expected = 1 + (config.ratings_per_user - 1) * rng.lognormal(-(sigma**2) / 2, sigma, n)
    leniency = rng.normal(0, _LENIENCY_SD, size=n)
    whole_stars = rng.random(n) < _WHOLE_STAR_SHARE
    alpha = config.taste_concentration * GENRE_IDS.size * GENRE_WEIGHTS
    taste = np.maximum(rng.dirichlet(alpha, size=n), 1e-12)
    frame = pl.DataFrame(
        {
            "user_id": np.arange(1, n + 1, dtype=np.int64),
            "expected_ratings": expected,
            "leniency": leniency,
            "whole_stars": whole_stars,
            "favourite_genre_id": GENRE_IDS[np.argmax(taste / GENRE_WEIGHTS, axis=1)],
            "taste": taste,  # shares over genres in GENRE_IDS order
        }
    ).with_columns(pl.col("taste").arr.to_list())
    return Users(frame, expected, leniency, whole_stars, taste / GENRE_WEIGHTS)


def _event_days(rng: np.random.Generator, counts: IntArray, days: int) -> IntArray:
    """Each user rates within an active window of 20-100% of the period."""
    n = counts.size
    length = np.maximum(1, np.ceil(rng.uniform(0.2, 1.0, n) * days)).astype(np.int64)
    first = (rng.random(n) * (days - length + 1)).astype(np.int64)
    per_event = np.repeat(np.arange(n), counts)
    offset = (rng.random(per_event.size) * length[per_event]).astype(np.int64)
    result: IntArray = first[per_event] + offset
    return result


def affinity(users: Users, catalogue: Catalogue, user: IntArray, movie: IntArray) -> FloatArray:
    """log of the user's mean taste lift over the movie's genres (0 = indifferent)."""
    lift = np.hstack([users.lift, np.zeros((users.lift.shape[0], 1))])
    genres = catalogue.genre_index[movie]
    mean_lift = lift[user[..., None], genres].sum(axis=-1) / catalogue.genre_count[movie]
    result: FloatArray = np.log(np.clip(mean_lift, 0.05, 20.0))
    return result


def generate_ratings(
    rng: np.random.Generator,
    config: WorldConfig,
    catalogue: Catalogue,
    dynamics: Dynamics,
    users: Users,
) -> pl.DataFrame:
    """rating = clip(round_u(3.5 + 0.5 (quality - 6.3) + 0.4 tanh(affinity) + leniency_u
    + N(0, 0.6)), 0.5, 5), round_u to whole stars for some users and halves for the rest.
    A user rates a movie at most once (the first pick counts)."""
    n_movies, days = config.movies, config.days
    counts = 1 + rng.poisson(users.expected_ratings - 1)
    user = np.repeat(np.arange(config.users, dtype=np.int64), counts)
    day = _event_days(rng, counts, days)

    # Per-day CDFs laid end to end (day t's spans (t, t + 1]) so one searchsorted serves all.
    released = np.arange(days)[None, :] >= catalogue.release_day[:, None]
    weight = (dynamics.latent**config.popularity_bias * released).T
    total = weight.sum(axis=1, keepdims=True)
    if np.any(total <= 0):
        raise ValueError("a crawl day has no released movie to rate; add movies or days")
    cdf = (np.cumsum(weight, axis=1) / total + np.arange(days)[:, None]).ravel()
    movie = np.empty(day.size, dtype=np.int64)
    chosen_affinity = np.empty(day.size)
    for lo in range(0, day.size, _BLOCK):  # blocks bound the (events, K, genres) gathers
        block = slice(lo, lo + _BLOCK)
        block_day = day[block]
        target = block_day[:, None] + rng.random((block_day.size, _CANDIDATES))
        flat = np.searchsorted(cdf, target, side="right")
        candidates = np.clip(flat - block_day[:, None] * n_movies, 0, n_movies - 1)
        scores = affinity(users, catalogue, user[block, None], candidates)
        pick = np.argmax(config.taste_bias * scores + rng.gumbel(size=scores.shape), axis=1)
        rows = np.arange(block_day.size)
        movie[block] = candidates[rows, pick]
        chosen_affinity[block] = scores[rows, pick]

    raw = (
        _RATING_MEAN
        + _QUALITY_WEIGHT * (catalogue.quality[movie] - _QUALITY_CENTRE)
        + _TASTE_WEIGHT * np.tanh(chosen_affinity)
        + users.leniency[user]
        + rng.normal(0, _RATING_NOISE_SD, size=day.size)
    )
    steps = np.where(users.whole_stars[user], 1.0, 2.0)
    rating = np.clip(np.round(raw * steps) / steps, 0.5, 5.0)
    seconds = (
        int(config.start.timestamp())
        + day * 86_400
        + rng.integers(0, 86_400, size=day.size, dtype=np.int64)
    )
    movie_ids = catalogue.frame["movie_id"].to_numpy()
    return (
        pl.DataFrame(
            {
                "user_id": user + 1,
                "movie_id": movie_ids[movie],
                "rating": rating,
                "event_timestamp": seconds * 1_000_000,
            }
        )
        .sort("event_timestamp", "user_id", "movie_id")
        .unique(subset=["user_id", "movie_id"], keep="first", maintain_order=True)
        .with_columns(pl.col("event_timestamp").cast(RATINGS_SCHEMA["event_timestamp"]))
        .cast(RATINGS_SCHEMA)
    )
