"""The static movie catalogue of the synthetic world: ids (TMDB, IMDb, MovieLens), titles,
languages, genres, release days, latent quality and appeal, runtime, budget and revenue.

Release days are integers relative to the first crawl day (day 0); negative means released
before the crawl. The catalogue is sorted by TMDB id so movie index order is id order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from cinefeat.sources._schema import TMDB_GENRES
from cinefeat.sources._synth_words import overviews, titles

if TYPE_CHECKING:
    from cinefeat.sources.synthetic import WorldConfig

__all__ = ["GENRE_IDS", "GENRE_WEIGHTS", "MAX_GENRES", "Catalogue", "generate_catalogue"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Per genre: (share of movies carrying it, quality effect on the 0-10 scale, appeal effect in
# popularity-rank sd units, budget effect in log-USD, typical runtime in minutes).
_GENRE_TABLE: dict[int, tuple[float, float, float, float, float]] = {
    18: (0.30, 0.25, -0.2, -0.3, 112),  # Drama
    35: (0.20, -0.05, 0.1, -0.2, 100),  # Comedy
    53: (0.13, -0.1, 0.2, 0.0, 104),  # Thriller
    28: (0.12, -0.15, 0.5, 0.9, 113),  # Action
    10749: (0.09, 0.0, 0.0, -0.4, 104),  # Romance
    27: (0.09, -0.6, 0.1, -1.2, 95),  # Horror
    80: (0.08, 0.1, 0.1, 0.0, 108),  # Crime
    99: (0.07, 0.5, -0.8, -2.0, 88),  # Documentary
    12: (0.06, 0.0, 0.5, 1.2, 115),  # Adventure
    10751: (0.05, 0.05, 0.2, 0.6, 95),  # Family
    878: (0.05, -0.1, 0.4, 1.0, 110),  # Science Fiction
    9648: (0.05, 0.0, 0.1, 0.0, 104),  # Mystery
    14: (0.05, 0.0, 0.3, 1.0, 110),  # Fantasy
    16: (0.05, 0.35, 0.2, 1.0, 92),  # Animation
    10402: (0.03, 0.2, -0.2, -0.5, 100),  # Music
    36: (0.03, 0.3, -0.1, 0.3, 125),  # History
    10752: (0.02, 0.25, 0.0, 0.5, 120),  # War
    10770: (0.015, -0.3, -0.5, -1.5, 90),  # TV Movie
    37: (0.01, 0.1, -0.2, 0.2, 108),  # Western
}
assert set(_GENRE_TABLE) == set(TMDB_GENRES)
GENRE_IDS: IntArray = np.array(list(_GENRE_TABLE), dtype=np.int64)
_TABLE = np.array(list(_GENRE_TABLE.values()), dtype=np.float64)
GENRE_WEIGHTS: FloatArray = _TABLE[:, 0] / _TABLE[:, 0].sum()
MAX_GENRES = 4

# original_language mix, roughly TMDB's among films people actually look at ("cn" is TMDB's
# code for Cantonese).
_LANGUAGES: dict[str, float] = {
    "en": 0.60, "fr": 0.06, "es": 0.05, "ja": 0.045, "de": 0.03, "it": 0.03, "ko": 0.025,
    "hi": 0.025, "zh": 0.02, "ru": 0.02, "pt": 0.015, "sv": 0.01, "tr": 0.01, "da": 0.008,
    "nl": 0.008, "pl": 0.008, "cn": 0.006, "ta": 0.008, "th": 0.005, "tl": 0.005, "te": 0.005,
    "no": 0.005, "fi": 0.005,
}  # fmt: skip
_GENRE_BY_LANGUAGE = {"ja": {16: 5.0}, "hi": {10749: 2.0, 10402: 2.5}, "ko": {53: 1.6, 80: 1.5}}

_PATH_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8
)
_DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class Catalogue:
    """`frame` is what `World.movies` shows; the arrays drive the daily dynamics (same row
    order). `release_day` is the true release day even where the published date is null."""

    frame: pl.DataFrame
    release_day: IntArray
    quality: FloatArray
    base_popularity: FloatArray
    release_boost: FloatArray
    genre_index: IntArray  # (n, MAX_GENRES) indexes into GENRE_IDS, padded with len(GENRE_IDS)
    genre_count: IntArray


def _image_paths(rng: np.random.Generator, null_share: FloatArray) -> pl.Series:
    n = null_share.size
    chars = _PATH_ALPHABET[rng.integers(0, _PATH_ALPHABET.size, size=(n, 27))]
    stems = np.ascontiguousarray(chars).view("S27").ravel().astype("U27")
    paths = pl.Series(stems).str.pad_start(28, "/") + ".jpg"
    return pl.select(
        pl.when(pl.Series(rng.random(n) < null_share)).then(None).otherwise(paths)
    ).to_series()


def _genres(rng: np.random.Generator, language: npt.NDArray[np.str_]) -> tuple[IntArray, IntArray]:
    n = language.size
    log_w = np.broadcast_to(np.log(GENRE_WEIGHTS), (n, GENRE_IDS.size)).copy()
    for lang, boosts in _GENRE_BY_LANGUAGE.items():
        rows = language == lang
        for genre, factor in boosts.items():
            log_w[rows, int(np.flatnonzero(genre == GENRE_IDS)[0])] += np.log(factor)
    # Gumbel top-k: the first k of the perturbed order are k genres drawn without
    # replacement in proportion to their weights, most likely first (like TMDB's order).
    order = np.argsort(-(log_w + rng.gumbel(size=log_w.shape)), axis=1)[:, :MAX_GENRES]
    count = rng.choice(np.arange(1, MAX_GENRES + 1), size=n, p=[0.32, 0.36, 0.22, 0.10])
    padded = np.where(np.arange(MAX_GENRES)[None, :] < count[:, None], order, GENRE_IDS.size)
    return padded.astype(np.int64), count.astype(np.int64)


def _per_movie_genre_mean(values: FloatArray, index: IntArray, count: IntArray) -> FloatArray:
    padded = np.append(values, 0.0)
    result: FloatArray = padded[index].sum(axis=1) / count
    return result


def _release_days(rng: np.random.Generator, config: WorldConfig) -> IntArray:
    n = config.movies
    kind = rng.choice(3, size=n, p=[config.future_share, 0.03, 1 - config.future_share - 0.03])
    future = rng.integers(0, config.days + config.lead_days, size=n)
    recent = rng.integers(-90, 0, size=n)
    age_years = np.minimum(rng.exponential(12.0, size=n), 100.0)
    past = -1 - (age_years * _DAYS_PER_YEAR).astype(np.int64)
    return np.select([kind == 0, kind == 1], [future, recent], past).astype(np.int64)


def _ids_in_release_order(
    rng: np.random.Generator, release_day: IntArray, high: int, noise_days: float
) -> IntArray:
    """Unique ids in [1, high], larger for later (noisily) releases, as databases grow."""
    n = release_day.size
    ids = np.sort(rng.choice(high, size=n, replace=False)) + 1
    order = np.argsort(release_day + rng.normal(0.0, noise_days, size=n), kind="stable")
    out = np.empty(n, dtype=np.int64)
    out[order] = ids
    return out


def _round_money(x: FloatArray) -> IntArray:
    step = np.where(x >= 1e6, 1e5, 1e3)
    return (np.round(x / step) * step).astype(np.int64)


def generate_catalogue(rng: np.random.Generator, config: WorldConfig) -> Catalogue:
    n = config.movies
    lang_codes = np.array(list(_LANGUAGES))
    lang_p = np.array(list(_LANGUAGES.values()))
    language = lang_codes[rng.choice(lang_codes.size, size=n, p=lang_p / lang_p.sum())]
    genre_index, genre_count = _genres(rng, language)
    release_day = _release_days(rng, config)
    age_years = np.maximum(-release_day, 0) / _DAYS_PER_YEAR

    quality_fx, appeal_fx, budget_fx, runtime_fx = (
        _per_movie_genre_mean(_TABLE[:, c], genre_index, genre_count) for c in (1, 2, 3, 4)
    )
    quality = np.clip(
        6.3 + quality_fx + 0.3 * np.minimum(age_years / 50, 1) + rng.normal(0, 0.85, size=n),
        1.5,
        9.3,
    ).round(3)
    english = language == "en"
    appeal = (
        0.45 * (quality - 6.3) / 0.85
        + appeal_fx
        + 0.5 * english
        - 0.01 * np.minimum(age_years, 40)
        + rng.normal(0, 1, size=n)
    )
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(-appeal, kind="stable")] = np.arange(1, n + 1)
    base_popularity = config.top_popularity * rank.astype(np.float64) ** -config.popularity_exponent
    release_boost = config.release_boost * rng.lognormal(-0.18, 0.6, size=n)
    obscurity = rank / n  # 0 for the most popular movie, 1 for the least

    movie_id = _ids_in_release_order(rng, release_day, max(1_300_000, 5 * n), 4 * _DAYS_PER_YEAR)
    imdb_id = _ids_in_release_order(rng, release_day, max(9_999_999, 5 * n), 2 * _DAYS_PER_YEAR)
    ml_order = np.lexsort((movie_id, release_day))
    movielens_id = np.empty(n, dtype=np.int64)
    movielens_id[ml_order] = np.cumsum(rng.geometric(0.6, size=n))

    runtime = np.where(
        rng.random(n) < 0.03,
        rng.integers(5, 40, size=n),
        np.clip(np.round(runtime_fx + rng.normal(0, 18, size=n)), 40, 300),
    ).astype(np.int64)
    budget = _round_money(np.exp(np.log(12e6) + budget_fx + 0.4 * english + rng.normal(0, 1.1, n)))
    budget_known = rng.random(n) < 0.05 + 0.6 * (1 - obscurity) ** 2 + 0.1 * english
    revenue_base = np.where(budget_known, budget, 8e6)
    revenue = np.round(
        revenue_base * np.exp(np.log(2.0) + 0.35 * (quality - 6.3) + rng.normal(0, 0.9, n))
    ).astype(np.int64)
    revenue_known = (release_day < 0) & (rng.random(n) < np.where(budget_known, 0.7, 0.08))
    runtime_known = rng.random(n) >= 0.03 + 0.15 * obscurity
    date_unknown = (release_day < 0) & (rng.random(n) < config.unknown_release_share)
    epoch_day = (config.start.date() - date(1970, 1, 1)).days

    lang_series = pl.Series(language)
    title, original_title = titles(rng, lang_series)
    genre_lists = pl.DataFrame(
        {"g": np.append(GENRE_IDS, 0)[genre_index], "k": genre_count}
    ).select(pl.col("g").arr.to_list().list.head(pl.col("k")))
    frame = pl.DataFrame(
        {
            "movie_id": movie_id,
            "imdb_id": imdb_id,
            "movielens_id": movielens_id,
            "title": title,
            "original_title": original_title,
            "original_language": lang_series,
            "release_date": pl.Series(release_day + epoch_day, dtype=pl.Int32).cast(pl.Date),
            "genre_ids": genre_lists.to_series(),
            "adult": rng.random(n) < 0.01,
            "video": rng.random(n) < 0.01,
            "overview": overviews(rng, n),
            "poster_path": _image_paths(rng, 0.02 + 0.15 * obscurity),
            "backdrop_path": _image_paths(rng, 0.05 + 0.45 * obscurity),
            "runtime": pl.Series(runtime).set(pl.Series(~runtime_known), None),
            "budget": pl.Series(budget).set(pl.Series(~budget_known), None),
            "revenue": pl.Series(revenue).set(pl.Series(~revenue_known), None),
            "quality": quality,
            "base_popularity": base_popularity,
        }
    ).with_columns(
        pl.when(pl.Series(~date_unknown)).then(pl.col("release_date")).alias("release_date")
    )
    order = np.argsort(movie_id, kind="stable")
    return Catalogue(
        frame=frame[order],
        release_day=release_day[order],
        quality=quality[order],
        base_popularity=base_popularity[order],
        release_boost=release_boost[order],
        genre_index=genre_index[order],
        genre_count=genre_count[order],
    )
