"""The small canonical movie catalogue the movie feature tests compute by hand.

Nine movies over three crawl snapshots: all nine in S1, movies 1-3 in S2, movies 1-2 in S3.
Titles cover Korean, Japanese, Chinese (TMDB's "cn"), Russian, sequels ("Toy Story 3",
"Rocky II", "Брат 2", "Avatar 5"), a colon with numbers ("2001: A Space Odyssey"), a null
release date (movie 7), a future release (movie 8), zero votes (movies 7 and 8) and genre ids
outside TMDB's list (9999 in movie 4; 878 twice in movie 8).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from cinefeat.sources._schema import MOVIES_SCHEMA

__all__ = ["MOVIES", "S1", "S2", "S3", "canonical", "movies_frame"]

S1 = datetime(2024, 3, 1, tzinfo=UTC)
S2 = datetime(2024, 3, 4, 12, tzinfo=UTC)  # noon: its UTC date is 2024-03-04
S3 = datetime(2024, 3, 6, tzinfo=UTC)

# movie_id -> the fields that do not change between snapshots.
MOVIES: dict[int, dict[str, Any]] = {
    1: {
        "title": "Toy Story 3",
        "original_language": "en",
        "release_date": date(2010, 6, 16),
        "genre_ids": [16, 10751, 35],
        "overview": "Woody and Buzz face a new Family at daycare. Love, LOVE and a lovely war!",
    },
    2: {
        "title": "기생충",
        "original_language": "ko",
        "release_date": date(2019, 5, 30),
        "genre_ids": [35, 53, 18],
        "overview": "가난한 가족이 부잣집에 들어간다.",
    },
    3: {
        "title": "千と千尋の神隠し",
        "original_language": "ja",
        "release_date": date(2001, 7, 20),
        "genre_ids": [16, 10751, 14],
        "overview": "千尋は不思議な町へ。",
    },
    4: {
        "title": "Брат 2",
        "original_language": "ru",
        "release_date": date(2000, 2, 11),
        "genre_ids": [28, 80, 9999],
        "overview": "Данила едет в Америку, чтобы помочь другу.",
    },
    5: {
        "title": "Rocky II",
        "original_language": "en",
        "release_date": date(1979, 6, 15),
        "genre_ids": [18],
        "overview": "Rocky fights Apollo again for his family and his son.",
    },
    6: {
        "title": "2001: A Space Odyssey",
        "original_language": "en",
        "release_date": date(1968, 4, 2),
        "genre_ids": [878, 9648, 12],
        "overview": ("An alien monolith guides humans from the dawn of man to space & the future."),
    },
    7: {
        "title": "Projet sans date",
        "original_language": "fr",
        "release_date": None,
        "genre_ids": [],
        "overview": "",
    },
    8: {
        "title": "Avatar 5",
        "original_language": "en",
        "release_date": date(2031, 12, 19),
        "genre_ids": [878, 12, 28, 878],
        "overview": None,
    },
    9: {
        "title": "無間道",
        "original_language": "cn",
        "release_date": date(2002, 10, 12),
        "genre_ids": [80, 18, 53],
        "overview": "Undercover cops and a gang killer — a police story: murder, murder.",
    },
}

# (movie_id, snapshot) -> (popularity, vote_average, vote_count)
SNAPSHOTS: dict[tuple[int, datetime], tuple[float, float, int]] = {
    (1, S1): (10.0, 9.0, 1000),
    (2, S1): (50.0, 9.5, 2000),
    (3, S1): (30.0, 9.0, 1000),
    (4, S1): (5.0, 7.0, 100),
    (5, S1): (2.0, 9.5, 5),
    (6, S1): (20.0, 4.5, 3000),
    (7, S1): (0.5, 0.0, 0),
    (8, S1): (1.5, 0.0, 0),
    (9, S1): (7.0, 5.5, 896),
    (1, S2): (17.0, 8.0, 1100),
    (2, S2): (40.0, 8.6, 2100),
    (3, S2): (30.0, 8.3, 1000),
    (1, S3): (20.0, 8.0, 1200),
    (2, S3): (44.0, 8.6, 2200),
}


def canonical(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows in MOVIES_SCHEMA; unnamed columns take harmless defaults."""
    defaults: dict[str, Any] = {
        "title": "A Film",
        "original_title": None,
        "original_language": "en",
        "release_date": None,
        "genre_ids": [],
        "popularity": 1.0,
        "vote_average": 5.0,
        "vote_count": 10,
        "adult": False,
        "overview": "",
        "runtime": None,
        "budget": None,
        "revenue": None,
        "snapshot_ts": S1,
    }
    full = [{**defaults, **row} for row in rows]
    return pl.DataFrame(full, schema=MOVIES_SCHEMA)


def movies_frame() -> pl.DataFrame:
    """The catalogue, one row per (movie, snapshot), ordered by snapshot then movie id."""
    rows = [
        {
            "movie_id": movie_id,
            **MOVIES[movie_id],
            "original_title": MOVIES[movie_id]["title"],
            "popularity": popularity,
            "vote_average": vote_average,
            "vote_count": vote_count,
            "adult": movie_id == 8,
            "snapshot_ts": snapshot,
        }
        for (movie_id, snapshot), (popularity, vote_average, vote_count) in SNAPSHOTS.items()
    ]
    return canonical(rows)
