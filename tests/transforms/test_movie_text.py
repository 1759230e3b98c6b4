"""movie_text: lengths, CJK-aware word counts, display width, title patterns and theme
keyword counts, checked against values counted by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cinefeat.transforms.movie_text import KEYWORD_THEMES, movie_text, movie_text_features
from tests.transforms.movies_fixture import S1, SNAPSHOTS, canonical, movies_frame

TITLE_FEATURES = [
    "title_length",
    "title_word_count",
    "title_display_width",
    "has_colon",
    "has_number",
    "is_sequel",
]
OVERVIEW_FEATURES = [
    "overview_length",
    "overview_word_count",
    "kw_romance",
    "kw_war",
    "kw_crime",
    "kw_family",
    "kw_scifi",
]

# movie_id -> (length, words, display width, colon, number, sequel)
TITLES: dict[int, tuple[int, int, int, bool, bool, bool]] = {
    1: (11, 3, 11, False, True, True),  # "Toy Story 3"
    2: (3, 1, 6, False, False, False),  # "기생충": one space-separated Hangul word, wide
    3: (8, 8, 16, False, False, False),  # "千と千尋の神隠し": each Han/kana char a word, wide
    4: (6, 2, 6, False, True, True),  # "Брат 2"
    5: (8, 2, 8, False, False, True),  # "Rocky II": a roman numeral is no digit
    6: (21, 4, 21, True, True, False),  # "2001: A Space Odyssey": no space before 2001
    7: (16, 3, 16, False, False, False),  # "Projet sans date"
    8: (8, 2, 8, False, True, True),  # "Avatar 5"
    9: (3, 3, 6, False, False, False),  # "無間道"
}

# movie_id -> (length, words, romance, war, crime, family, scifi); None: null overview.
OVERVIEWS: dict[int, tuple[int, int, int, int, int, int, int] | None] = {
    # 15 tokens, 59 letters/punctuation + 14 spaces. "Love", "LOVE" (not "lovely"); "war";
    # "Family".
    1: (73, 15, 2, 1, 0, 1, 0),
    # "가난한 가족이 부잣집에 들어간다.": 3+1+3+1+4+1+5 characters, 4 spaced words; the
    # theme words are English, so a Korean "family" is not counted.
    2: (18, 4, 0, 0, 0, 0, 0),
    # "千尋は不思議な町へ。": 10 characters, 9 words (the full stop is not a word).
    3: (10, 9, 0, 0, 0, 0, 0),
    # "Данила едет в Америку, чтобы помочь другу.": 7 words, 35 letters/punctuation + 6 spaces.
    4: (42, 7, 0, 0, 0, 0, 0),
    # "family" and "son".
    5: (53, 10, 0, 0, 0, 2, 0),
    # 15 tokens but "&" is not a word; "alien", "space", "future" ("humans" is no theme word).
    6: (75, 14, 0, 0, 0, 0, 3),
    7: (0, 0, 0, 0, 0, 0, 0),  # TMDB's empty overview
    8: None,
    # 12 tokens but the dash is not a word; "gang", "killer", "police", "murder" twice.
    9: (67, 11, 0, 0, 5, 0, 0),
}


def test_feature_names() -> None:
    assert list(KEYWORD_THEMES) == ["romance", "war", "crime", "family", "scifi"]
    assert movie_text.feature_names == (*TITLE_FEATURES, *OVERVIEW_FEATURES)


def test_every_feature_matches_the_hand_counted_values() -> None:
    result = movie_text_features(movies_frame())
    assert result.height == len(SNAPSHOTS)
    for row in result.iter_rows(named=True):
        movie_id = row["movie_id"]
        assert tuple(row[f] for f in TITLE_FEATURES) == TITLES[movie_id], movie_id
        overview = OVERVIEWS[movie_id]
        expected = (None,) * len(OVERVIEW_FEATURES) if overview is None else overview
        assert tuple(row[f] for f in OVERVIEW_FEATURES) == expected, movie_id


@pytest.mark.parametrize(
    ("title", "sequel"),
    [
        ("Toy Story 3", True),
        ("Rocky II", True),
        ("Rocky", False),
        ("Shrek 2: The Sequel", True),  # the number ends the main title
        ("Star Wars: Episode V - The Empire Strikes Back", True),
        ("Star Wars: Episode I \u2013 The Phantom Menace", False),  # en dash; I is not II-X
        ("Harry Potter and the Deathly Hallows: Part 2", True),
        ("Harry Potter and the Deathly Hallows: Part 1", False),
        ("Dune: Part Two", True),
        ("The Godfather Part II", True),
        ("It Chapter Two", True),
        ("John Wick: Chapter 4", True),
        ("Kill Bill: Vol. 2", True),
        ("Batman Returns", True),
        ("The Dark Knight Rises", True),
        ("The Matrix Reloaded", True),
        ("The Matrix Revolutions", True),
        ("The Empire Strikes Back", True),
        ("Rise of the Planet of the Apes", False),
        ("2012", False),  # a number with no space before it
        ("Blade Runner 2049", False),  # only 2-99
        ("21 Jump Street", False),  # not at the end
        ("Toy Story 10", True),
        ("Final Fantasy VII", True),
        ("V for Vendetta", False),
        ("Ocean's Twelve", False),  # documented miss: numbers in words
        ("Apollo 13", True),  # documented false alarm
        ("Malcolm X", True),  # documented false alarm
        ("Mad Max 2\uff1aThe Road Warrior", True),  # fullwidth colon
        ("Брат 2", True),
        ("rocky ii", False),  # roman numerals must be upper case
    ],
)
def test_is_sequel_pattern(title: str, sequel: bool) -> None:
    movies = canonical([{"movie_id": 1, "title": title}])
    assert movie_text_features(movies)["is_sequel"].to_list() == [sequel]


@pytest.mark.parametrize(
    ("title", "length", "words", "width", "colon", "number"),
    [
        ("Fast & Furious", 14, 2, 14, False, False),  # "&" alone is not a word
        ("スーパーマリオ", 7, 7, 14, False, False),  # kana and the length mark "ー"
        ("千と、千尋", 5, 4, 10, False, False),  # "、" is punctuation, not a word (but wide)
        (
            "\uff34\uff4f\uff4b\uff59\uff4f\uff1a\uff12\uff10\uff12\uff10",
            10,
            1,
            20,
            True,
            True,
        ),  # fullwidth Tokyo:2020
        ("ドラえもんVS Robots", 14, 7, 19, False, False),  # 5 wide kana + "VS" + "Robots"
        ("Amélie", 6, 1, 6, False, False),  # precomposed é
        ("Ame\u0301lie", 7, 1, 6, False, False),  # e + combining acute: 7 code points, 6 wide
        ("Love \U0001f496 Story", 12, 2, 13, False, False),  # an emoji is wide, not a word
        ("Se7en", 5, 1, 5, False, True),
        ("  ", 2, 0, 2, False, False),
        ("", 0, 0, 0, False, False),
    ],
)
def test_title_lengths_words_and_width(
    title: str, length: int, words: int, width: int, colon: bool, number: bool
) -> None:
    row = movie_text_features(canonical([{"movie_id": 1, "title": title}])).row(0, named=True)
    assert (
        row["title_length"],
        row["title_word_count"],
        row["title_display_width"],
        row["has_colon"],
        row["has_number"],
    ) == (length, words, width, colon, number)


def test_keyword_counts_are_whole_words_in_any_case() -> None:
    overview = (
        "WAR and wars; a warrior's battle-hardened army. Killers kill; the killer killed. "
        "Spaceships? A spaceship in SPACE. Their mother's son, his sons."
    )
    row = movie_text_features(canonical([{"movie_id": 1, "overview": overview}])).row(0, named=True)
    # war: WAR, wars, battle (in battle-hardened), army; not "warrior's".
    # crime: kill, killer, killed; not "Killers". scifi: spaceship, SPACE; not "Spaceships".
    # family: mother (in mother's), son; not "sons".
    assert (row["kw_war"], row["kw_crime"], row["kw_scifi"], row["kw_family"]) == (4, 3, 2, 2)
    assert row["kw_romance"] == 0


def test_null_title_and_null_overview_give_null_features() -> None:
    movies = canonical(
        [
            {"movie_id": 1, "title": None, "overview": "war"},
            {"movie_id": 1, "title": "War", "overview": None},
        ]
    )
    first, second = movie_text_features(movies).iter_rows(named=True)
    assert all(first[f] is None for f in TITLE_FEATURES)
    assert first["kw_war"] == 1
    assert second["title_word_count"] == 1
    assert all(second[f] is None for f in OVERVIEW_FEATURES)


def test_texts_that_change_between_snapshots_are_recomputed() -> None:
    # Texts are computed once per run of identical snapshots of a movie; a change (and a
    # change back) must still show, and rows keep their input order.
    rows = [
        (1, "Alien", "alien", 3),
        (2, "Alien", "alien", 1),
        (1, "Aliens", "alien alien", 2),
        (1, "Alien", "alien", 1),
        (1, "Alien", "alien", 4),
    ]
    movies = canonical(
        [
            {"movie_id": m, "title": t, "overview": o, "snapshot_ts": S1 + timedelta(days=d)}
            for m, t, o, d in rows
        ]
    )
    result = movie_text_features(movies)
    assert result["movie_id"].to_list() == [1, 2, 1, 1, 1]
    assert result["title_length"].to_list() == [5, 5, 6, 5, 5]
    assert result["kw_scifi"].to_list() == [1, 1, 2, 1, 1]
