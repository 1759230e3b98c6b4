"""movie_basic: TMDB numbers, genre and language one-hots and the rating tier, checked against
values worked out by hand from the fixture catalogue."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest

from cinefeat.transforms.movie_basic import (
    GENRE_FEATURES,
    LANGUAGE_FEATURES,
    movie_basic,
    movie_basic_features,
)
from tests.transforms.movies_fixture import S1, S2, S3, SNAPSHOTS, canonical, movies_frame

GENRE_NAMES = [
    "genre_action", "genre_adventure", "genre_animation", "genre_comedy", "genre_crime",
    "genre_documentary", "genre_drama", "genre_family", "genre_fantasy", "genre_history",
    "genre_horror", "genre_music", "genre_mystery", "genre_romance", "genre_science_fiction",
    "genre_tv_movie", "genre_thriller", "genre_war", "genre_western",
]  # fmt: skip
LANGUAGE_NAMES = [
    "is_english", "is_korean", "is_japanese", "is_french", "is_spanish", "is_hindi",
    "is_chinese", "is_russian", "is_german", "is_italian",
]  # fmt: skip

# movie_id -> (genres set True, genre_count, language flag set True)
EXPECTED_STATIC: dict[int, tuple[set[str], int, str]] = {
    1: ({"genre_animation", "genre_family", "genre_comedy"}, 3, "is_english"),
    2: ({"genre_comedy", "genre_thriller", "genre_drama"}, 3, "is_korean"),
    3: ({"genre_animation", "genre_family", "genre_fantasy"}, 3, "is_japanese"),
    # 9999 is not a TMDB genre: no flag, not counted.
    4: ({"genre_action", "genre_crime"}, 2, "is_russian"),
    5: ({"genre_drama"}, 1, "is_english"),
    6: ({"genre_science_fiction", "genre_mystery", "genre_adventure"}, 3, "is_english"),
    7: (set(), 0, "is_french"),
    # 878 (Science Fiction) is listed twice but counted once.
    8: ({"genre_science_fiction", "genre_adventure", "genre_action"}, 3, "is_english"),
    9: ({"genre_crime", "genre_drama", "genre_thriller"}, 3, "is_chinese"),  # TMDB's "cn"
}

# (movie_id, snapshot) -> rating_tier: under 10 votes "unrated", else by vote_average
# (>= 7.5 excellent, >= 6.5 good, >= 5.0 mixed, else poor).
EXPECTED_TIER = {
    (1, S1): "excellent",  # 9.0 over 1000 votes
    (2, S1): "excellent",  # 9.5
    (3, S1): "excellent",  # 9.0
    (4, S1): "good",  # 7.0 over 100 votes
    (5, S1): "unrated",  # 9.5 but only 5 votes
    (6, S1): "poor",  # 4.5
    (7, S1): "unrated",  # 0 votes
    (8, S1): "unrated",  # 0 votes
    (9, S1): "mixed",  # 5.5
    (1, S2): "excellent",  # 8.0
    (2, S2): "excellent",  # 8.6
    (3, S2): "excellent",  # 8.3
    (1, S3): "excellent",
    (2, S3): "excellent",
}


def _rows(frame: pl.DataFrame) -> dict[tuple[int, Any], dict[str, Any]]:
    return {(r["movie_id"], r["event_timestamp"]): r for r in frame.iter_rows(named=True)}


def test_feature_names_follow_tmdb_genres_and_the_issue() -> None:
    assert list(GENRE_FEATURES) == GENRE_NAMES
    assert list(LANGUAGE_FEATURES) == LANGUAGE_NAMES
    assert movie_basic.feature_names == (
        "popularity", "log_popularity", "vote_average", "vote_count", "adult",
        *GENRE_NAMES, "genre_count", *LANGUAGE_NAMES, "rating_tier",
    )  # fmt: skip


def test_every_feature_matches_the_hand_computed_values() -> None:
    rows = _rows(movie_basic_features(movies_frame()))
    assert len(rows) == len(SNAPSHOTS)
    for (movie_id, snapshot), (popularity, vote_average, vote_count) in SNAPSHOTS.items():
        row = rows[(movie_id, snapshot)]
        genres, genre_count, language = EXPECTED_STATIC[movie_id]
        assert row["popularity"] == popularity
        assert row["log_popularity"] == pytest.approx(math.log(1.0 + popularity), rel=1e-12)
        assert row["vote_average"] == vote_average
        assert row["vote_count"] == vote_count
        assert row["adult"] is (movie_id == 8)
        assert {name for name in GENRE_NAMES if row[name]} == genres
        assert all(row[name] is False for name in GENRE_NAMES if name not in genres)
        assert row["genre_count"] == genre_count
        assert {name for name in LANGUAGE_NAMES if row[name]} == {language}
        assert all(row[name] is False for name in LANGUAGE_NAMES if name != language)
        assert row["rating_tier"] == EXPECTED_TIER[(movie_id, snapshot)], (movie_id, snapshot)


def test_log_popularity_spot_values() -> None:
    rows = _rows(movie_basic_features(movies_frame()))
    assert rows[(7, S1)]["log_popularity"] == pytest.approx(0.4054651081081644)  # ln 1.5
    assert rows[(1, S1)]["log_popularity"] == pytest.approx(2.3978952727983707)  # ln 11


@pytest.mark.parametrize(
    ("code", "flag"),
    [
        ("en", "is_english"),
        ("EN", "is_english"),
        ("ko", "is_korean"),
        ("ja", "is_japanese"),
        ("fr", "is_french"),
        ("es", "is_spanish"),
        ("hi", "is_hindi"),
        ("zh", "is_chinese"),
        ("cn", "is_chinese"),
        ("ru", "is_russian"),
        ("de", "is_german"),
        ("it", "is_italian"),
        ("pt", None),
    ],
)
def test_each_language_code_sets_exactly_its_flag(code: str, flag: str | None) -> None:
    row = movie_basic_features(canonical([{"movie_id": 1, "original_language": code}])).row(
        0, named=True
    )
    assert {name for name in LANGUAGE_NAMES if row[name]} == ({flag} if flag else set())


@pytest.mark.parametrize(
    ("vote_count", "vote_average", "tier"),
    [
        (9, 9.9, "unrated"),
        (10, 4.99, "poor"),
        (10, 5.0, "mixed"),
        (10, 6.49, "mixed"),
        (10, 6.5, "good"),
        (10, 7.49, "good"),
        (10, 7.5, "excellent"),
        (10, 10.0, "excellent"),
        (None, 8.0, None),
        (10, None, None),
        (0, None, "unrated"),
    ],
)
def test_rating_tier_cut_points(
    vote_count: int | None, vote_average: float | None, tier: str | None
) -> None:
    movies = canonical([{"movie_id": 1, "vote_count": vote_count, "vote_average": vote_average}])
    assert movie_basic_features(movies)["rating_tier"].to_list() == [tier]


def test_every_genre_id_sets_its_own_flag() -> None:
    ids = [28, 12, 16, 35, 80, 99, 18, 10751, 14, 36, 27, 10402, 9648, 10749, 878, 10770, 53]
    ids += [10752, 37]
    movies = canonical([{"movie_id": i, "genre_ids": [gid]} for i, gid in enumerate(ids)])
    result = movie_basic_features(movies)
    flags = result.select(GENRE_NAMES).rows()
    # Ids listed in TMDB's order give the identity matrix: one flag each, in schema order.
    assert flags == [tuple(i == j for j in range(19)) for i in range(19)]
    assert result["genre_count"].to_list() == [1] * 19


def test_missing_inputs_give_null_features_and_negative_popularity_is_clamped() -> None:
    movies = canonical(
        [
            {"movie_id": 1, "genre_ids": None, "original_language": None, "popularity": -3.0},
            {"movie_id": 2, "genre_ids": [], "popularity": None},
        ]
    )
    first, second = movie_basic_features(movies).iter_rows(named=True)
    assert all(first[name] is None for name in [*GENRE_NAMES, "genre_count", *LANGUAGE_NAMES])
    assert first["log_popularity"] == 0.0  # ln(1 + max(-3, 0))
    assert all(second[name] is False for name in GENRE_NAMES)
    assert second["genre_count"] == 0
    assert second["popularity"] is None and second["log_popularity"] is None


def test_rows_keep_input_order_and_snapshot_times() -> None:
    movies = movies_frame().reverse()
    result = movie_basic_features(movies)
    assert result["movie_id"].to_list() == movies["movie_id"].to_list()
    assert result["event_timestamp"].to_list() == movies["snapshot_ts"].to_list()
    assert set(result["event_timestamp"]) == {S1, S2, S3}
