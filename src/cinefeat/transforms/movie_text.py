"""Text features of a movie's title and overview: lengths, CJK-aware word counts, display
width, title patterns (colon, numbers, sequel markers) and theme keyword counts.

All are Polars string expressions over one row (Rust regex, Unicode classes). Definitions:

- Lengths count Unicode code points (`str.len_chars`), not bytes.
- Word counts: each Han, Hiragana or Katakana character (and the katakana length mark
  "ー") is one word, since Chinese and Japanese are written without spaces; any other text
  splits on whitespace, and a token counts only if it holds a letter or digit (a lone "&"
  or "-" is not a word). Hangul is written with spaces, so a Korean word is one word.
  "千と千尋の神隠し" is 8 words, "기생충" 1, "Fast & Furious" 2.
- `title_display_width`: terminal columns, per code point: East Asian Wide and Fullwidth
  characters (WIDE_CHARS: CJK, kana, Hangul syllables, fullwidth forms, emoji presentation)
  count 2, combining marks and zero-width characters 0, everything else 1.
- `has_colon`: an ASCII colon or a fullwidth one (U+FF1A). `has_number`: any decimal
  digit of any script (\\p{Nd}); roman numerals do not count.
- `is_sequel`: SEQUEL_PATTERN matches the title. It matches (1) a number 2-99 or an upper
  case roman numeral II-X after a space, ending the title or its main part (the part before
  a colon, ASCII or fullwidth, or a spaced hyphen, en or em dash): "Toy Story 3", "Rocky
  II", "Shrek 2: ..."; (2) "Part", "Chapter", "Vol." or "Volume" (any case) followed by
  2-99, II-X or two to ten; (3) the main part ending in Returns, Strikes Back, Strikes
  Again, Reloaded, Revolutions, Rises, Resurrection, Reborn or Continues (any case).
  Known false alarms: "Apollo 13", "Malcolm X", regnal numbers ("Henry V"); known misses:
  numbers in words ("Ocean's Twelve").
- `kw_<theme>`: how many times the theme's words (KEYWORD_THEMES lists every word form
  counted) occur in the overview as whole words, ignoring case; a repeated word counts each
  time. The overview is lower-cased once and matched with ASCII word boundaries (the words
  are ASCII), which keeps every theme on Rust regex's fast literal search.

A null title or overview gives null features from it (TMDB's empty overview gives 0s).
"""

from __future__ import annotations

import polars as pl

from cinefeat.definitions import Field
from cinefeat.transforms._movie_common import finish, movie_input, movie_view
from cinefeat.types import Bool, Int32

__all__ = [
    "CJK_CHAR",
    "KEYWORD_THEMES",
    "SEQUEL_PATTERN",
    "WIDE_CHARS",
    "WORD_PATTERN",
    "movie_text",
    "movie_text_features",
]

_ROW = "__movie_text_row"
_TEXT = "__movie_text_id"

# Letters of scripts written without spaces (punctuation such as "、" is not a word).
CJK_CHAR = r"[\p{Han}\p{Hiragana}\p{Katakana}\x{30FC}\x{FF70}--\p{P}]"
_OTHER = rf"[\S--{CJK_CHAR}]"
WORD_PATTERN = rf"{CJK_CHAR}|{_OTHER}*[[\p{{L}}\p{{N}}]--{CJK_CHAR}]{_OTHER}*"

# East_Asian_Width W or F, by whole blocks (a few unassigned code points are included).
WIDE_CHARS = (
    r"[\x{1100}-\x{115F}\x{2E80}-\x{303E}\x{3041}-\x{33FF}\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}"
    r"\x{A000}-\x{A4CF}\x{A960}-\x{A97F}\x{AC00}-\x{D7A3}\x{F900}-\x{FAFF}\x{FE10}-\x{FE19}"
    r"\x{FE30}-\x{FE6F}\x{FF01}-\x{FF60}\x{FFE0}-\x{FFE6}\x{20000}-\x{2FFFD}\x{30000}-\x{3FFFD}"
    r"\p{Emoji_Presentation}]"
)
_ZERO_WIDTH = r"[\p{Mn}\p{Me}\x{200B}-\x{200D}\x{2060}\x{FEFF}]"

_NUMBER = r"(?:[2-9]|[1-9][0-9])"
_ROMAN = r"(?:II|III|IV|V|VI|VII|VIII|IX|X)"
_PART_WORDS = r"(?i:two|three|four|five|six|seven|eight|nine|ten)"
_SUFFIXES = (
    r"(?i:returns|strikes back|strikes again|reloaded|revolutions|rises|resurrection|reborn"
    r"|continues)"
)
# End of the title, or of its main part before a subtitle.
_MAIN_END = r"\s*(?:$|[:\x{FF1A}]|\s[-\x{2013}\x{2014}]\s)"
SEQUEL_PATTERN = (
    rf"\s(?:{_NUMBER}|{_ROMAN}){_MAIN_END}"
    rf"|(?i:\b(?:part|chapter|vol\.?|volume))\s+(?:{_NUMBER}|{_ROMAN}|{_PART_WORDS})\b"
    rf"|\s{_SUFFIXES}{_MAIN_END}"
)

KEYWORD_THEMES: dict[str, tuple[str, ...]] = {
    "romance": (
        "love", "loves", "loved", "lover", "lovers", "romance", "romantic", "wedding",
        "marriage", "married", "kiss", "affair", "girlfriend", "boyfriend",
    ),
    "war": (
        "war", "wars", "battle", "battles", "soldier", "soldiers", "army", "military",
        "invasion", "combat", "enemy", "troops",
    ),
    "crime": (
        "murder", "murders", "murdered", "murderer", "kill", "kills", "killed", "killer",
        "crime", "crimes", "criminal", "detective", "police", "gang", "heist",
    ),
    "family": (
        "family", "families", "father", "mother", "son", "daughter", "brother", "sister",
        "parents", "children", "dad", "mom",
    ),
    "scifi": (
        "future", "space", "planet", "planets", "alien", "aliens", "galaxy", "spaceship",
        "astronaut", "astronauts", "robot", "robots",
    ),
}  # fmt: skip


def _theme_pattern(words: tuple[str, ...]) -> str:
    # Matched against the lower-cased overview; ASCII word boundaries suffice for ASCII words.
    return r"(?-u:\b)(?:" + "|".join(words) + r")(?-u:\b)"


def _theme_description(theme: str) -> str:
    words = KEYWORD_THEMES[theme]
    shown = ", ".join(words[:6])
    return f"Occurrences in overview of {theme} words ({shown}, ...; {len(words)} in all)"


movie_text = movie_view(
    "movie_text",
    "text",
    "Title and overview lengths, CJK-aware word counts, title patterns and theme keywords",
    [
        Field("title_length", Int32, "Title length in Unicode code points"),
        Field(
            "title_word_count",
            Int32,
            "Title words: whitespace tokens with a letter/digit; each Han/kana char is one",
        ),
        Field("title_display_width", Int32, "Title width in columns: East Asian wide chars 2"),
        Field("has_colon", Bool, "Title contains ':' or the fullwidth colon U+FF1A"),
        Field("has_number", Bool, "Title contains a decimal digit (any script)"),
        Field(
            "is_sequel",
            Bool,
            "Title ends in 2-99 or II-X, has Part/Chapter N, or ends in Returns/Rises/...",
        ),
        Field("overview_length", Int32, "Overview length in Unicode code points"),
        Field("overview_word_count", Int32, "Overview words, counted like title_word_count"),
        *(Field(f"kw_{theme}", Int32, _theme_description(theme)) for theme in KEYWORD_THEMES),
    ],
)


def _text_features() -> list[pl.Expr]:
    title, overview = pl.col("title"), pl.col("overview")
    title_length = title.str.len_chars().cast(pl.Int64)
    width = (
        title_length + title.str.count_matches(WIDE_CHARS) - title.str.count_matches(_ZERO_WIDTH)
    )
    # Lower-casing once lets each theme use a case-sensitive regex, which takes Rust regex's
    # literal fast path; a case-insensitive one is several times slower.
    lowered = overview.str.to_lowercase()
    return [
        title_length.alias("title_length"),
        title.str.count_matches(WORD_PATTERN).alias("title_word_count"),
        width.alias("title_display_width"),
        title.str.contains(r"[:\x{FF1A}]").alias("has_colon"),
        title.str.contains(r"\p{Nd}").alias("has_number"),
        title.str.contains(SEQUEL_PATTERN).alias("is_sequel"),
        overview.str.len_chars().alias("overview_length"),
        overview.str.count_matches(WORD_PATTERN).alias("overview_word_count"),
        *(
            lowered.str.count_matches(_theme_pattern(words)).alias(f"kw_{theme}")
            for theme, words in KEYWORD_THEMES.items()
        ),
    ]


def movie_text_features(movies: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """movie_text's columns (movie_id, its features, event_timestamp = snapshot_ts), one row
    per input row in input order."""
    frame = movie_input(movies, ("title", "overview")).with_row_index(_ROW)
    # A movie's title and overview rarely change between crawls, and the regexes are most of
    # the cost: they run once per run of identical texts in the movie's snapshot history,
    # found by comparing each snapshot with the previous one (cheap next to hashing texts).
    title, overview, movie = pl.col("title"), pl.col("overview"), pl.col("movie_id")
    new_text = (
        movie.ne_missing(movie.shift(1))
        | title.ne_missing(title.shift(1))
        | overview.ne_missing(overview.shift(1))
    )
    ordered = (
        frame.select(_ROW, "movie_id", "title", "overview")
        .sort("movie_id", maintain_order=True)
        .with_columns(new_text.alias("__new"))
        .with_columns(pl.col("__new").cum_sum().alias(_TEXT))
    )
    texts = ordered.filter(pl.col("__new")).select(_TEXT, *_text_features())
    per_row = ordered.select(_ROW, _TEXT).join(texts, on=_TEXT, how="left").sort(_ROW)
    both = pl.concat([frame, per_row.drop(_ROW, _TEXT)], how="horizontal")
    return finish(both, movie_text)
