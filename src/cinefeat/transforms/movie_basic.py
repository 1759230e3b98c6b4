"""Basic movie features: TMDB's own numbers, genre and language one-hots and a rating tier.

Computed row by row from one canonical movie record (no other rows are read), so a movie's
features at a snapshot depend only on what that crawl saw. Definitions:

- `log_popularity` = ln(1 + max(popularity, 0)): TMDB popularity is non-negative, and the
  clamp keeps a bad negative value from turning into NaN.
- `genre_<name>` is True when `genre_ids` holds that TMDB genre id (TMDB_GENRES; the name is
  snake-cased: "Science Fiction" -> `genre_science_fiction`). Ids outside TMDB's 19 genres are
  ignored. `genre_count` is the number of distinct TMDB genres the movie has (0 to 19), so a
  repeated or unknown id never inflates it.
- Language flags compare `original_language` (ISO 639-1, case-insensitive): `is_chinese` is
  "zh" or "cn" (TMDB uses "cn" for Cantonese titles).
- `rating_tier`: "unrated" below RATING_TIER_MIN_VOTES votes (an average of a handful of votes
  says little); otherwise by vote_average: below 5.0 "poor", 5.0 to below 6.5 "mixed",
  6.5 to below 7.5 "good", 7.5 and above "excellent".

Missing input gives a missing feature, never a guess: a null `genre_ids` gives null genre
flags and count (an empty list gives all False and 0), a null `original_language` null
language flags, a null vote_count or (with enough votes) a null vote_average a null tier.
"""

from __future__ import annotations

import polars as pl

from cinefeat.definitions import Field, InRange
from cinefeat.sources._schema import TMDB_GENRE_SLUGS, TMDB_GENRES
from cinefeat.transforms._movie_common import finish, movie_input, movie_view
from cinefeat.types import Bool, Float64, Int32, Int64, String

__all__ = [
    "GENRE_FEATURES",
    "LANGUAGE_FEATURES",
    "RATING_TIER_CUTS",
    "RATING_TIER_MIN_VOTES",
    "movie_basic",
    "movie_basic_features",
]

RATING_TIER_MIN_VOTES = 10
# (lower bound of vote_average, tier), highest first; below the last bound is "poor".
RATING_TIER_CUTS: tuple[tuple[float, str], ...] = (
    (7.5, "excellent"),
    (6.5, "good"),
    (5.0, "mixed"),
)


# feature name -> TMDB genre id, in TMDB's list order.
GENRE_FEATURES: dict[str, int] = {f"genre_{slug}": gid for gid, slug in TMDB_GENRE_SLUGS.items()}

# feature name -> the original_language codes that set it.
LANGUAGE_FEATURES: dict[str, tuple[str, ...]] = {
    "is_english": ("en",),
    "is_korean": ("ko",),
    "is_japanese": ("ja",),
    "is_french": ("fr",),
    "is_spanish": ("es",),
    "is_hindi": ("hi",),
    "is_chinese": ("zh", "cn"),
    "is_russian": ("ru",),
    "is_german": ("de",),
    "is_italian": ("it",),
}

_LANGUAGE_NAMES = {
    "is_english": "English",
    "is_korean": "Korean",
    "is_japanese": "Japanese",
    "is_french": "French",
    "is_spanish": "Spanish",
    "is_hindi": "Hindi",
    "is_chinese": "Chinese",
    "is_russian": "Russian",
    "is_german": "German",
    "is_italian": "Italian",
}

_tiers = ", ".join(f">= {cut} {tier}" for cut, tier in RATING_TIER_CUTS)

movie_basic = movie_view(
    "movie_basic",
    "basic",
    "TMDB popularity and votes, genre and language one-hots and a rating tier, per snapshot",
    [
        Field(
            "popularity",
            Float64,
            "TMDB popularity score at the snapshot",
            rules=[InRange(min=0)],
        ),
        Field("log_popularity", Float64, "ln(1 + popularity), popularity clamped at 0"),
        Field(
            "vote_average",
            Float64,
            "Mean TMDB vote (0-10) at the snapshot",
            rules=[InRange(min=0, max=10)],
        ),
        Field(
            "vote_count",
            Int64,
            "Number of TMDB votes at the snapshot",
            rules=[InRange(min=0)],
        ),
        Field("adult", Bool, "TMDB adult content flag"),
        *(
            Field(feature, Bool, f"genre_ids holds TMDB genre {TMDB_GENRES[gid]!r} (id {gid})")
            for feature, gid in GENRE_FEATURES.items()
        ),
        Field("genre_count", Int32, "Distinct TMDB genres in genre_ids (unknown ids ignored)"),
        *(
            Field(
                feature,
                Bool,
                f"original_language is {' or '.join(codes)} ({_LANGUAGE_NAMES[feature]})",
            )
            for feature, codes in LANGUAGE_FEATURES.items()
        ),
        Field(
            "rating_tier",
            String,
            f"'unrated' under {RATING_TIER_MIN_VOTES} votes, else by vote_average: "
            f"{_tiers}, else poor",
        ),
    ],
)

_NEEDED = ("popularity", "vote_average", "vote_count", "adult", "genre_ids", "original_language")


def _rating_tier() -> pl.Expr:
    average, votes = pl.col("vote_average"), pl.col("vote_count")
    # Built from the lowest tier up; a null average matches no cut and stays null.
    tier: pl.Expr = pl.when(average.is_not_null()).then(pl.lit("poor"))
    for cut, name in reversed(RATING_TIER_CUTS):
        tier = pl.when(average >= cut).then(pl.lit(name)).otherwise(tier)
    unrated = pl.when(votes < RATING_TIER_MIN_VOTES).then(pl.lit("unrated")).otherwise(tier)
    return pl.when(votes.is_not_null()).then(unrated)


def movie_basic_features(movies: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """movie_basic's columns (movie_id, its features, event_timestamp = snapshot_ts), one row
    per input row in input order."""
    frame = movie_input(movies, _NEEDED)
    genres = pl.col("genre_ids")
    language = pl.col("original_language").str.to_lowercase()
    flags = [genres.list.contains(gid).alias(name) for name, gid in GENRE_FEATURES.items()]
    return finish(
        frame.with_columns(
            pl.col("popularity").clip(lower_bound=0.0).log1p().alias("log_popularity"),
            *flags,
            *(language.is_in(codes).alias(name) for name, codes in LANGUAGE_FEATURES.items()),
            _rating_tier().alias("rating_tier"),
        ).with_columns(
            # Summing the flags (not the list) counts each known genre once, whatever repeats;
            # sum_horizontal would read a null list's null flags as 0, hence the guard.
            pl.when(genres.is_not_null())
            .then(pl.sum_horizontal(*GENRE_FEATURES))
            .alias("genre_count")
        ),
        movie_basic,
    )
