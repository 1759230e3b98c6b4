"""The canonical shapes every loader produces, and what a load returns.

movies: one row per movie per crawl snapshot. ratings: one row per rating event. Loaders
normalise messy input into these and quarantine, with a reason, what they cannot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from cinefeat.errors import CinefeatError

__all__ = [
    "MOVIES_SCHEMA",
    "QUARANTINE_SCHEMA",
    "RATINGS_SCHEMA",
    "TMDB_GENRES",
    "TMDB_GENRE_SLUGS",
    "LoadResult",
]

UTC_US = pl.Datetime("us", "UTC")

MOVIES_SCHEMA = pl.Schema(
    {
        "movie_id": pl.Int64(),
        "title": pl.String(),
        "original_title": pl.String(),
        "original_language": pl.String(),
        "release_date": pl.Date(),  # null when unknown or impossible
        "genre_ids": pl.List(pl.Int64()),
        "popularity": pl.Float64(),
        "vote_average": pl.Float64(),
        "vote_count": pl.Int64(),
        "adult": pl.Boolean(),
        "overview": pl.String(),
        "runtime": pl.Int64(),  # minutes; null when unknown (TMDB's 0)
        "budget": pl.Int64(),  # USD; null when unknown (TMDB's 0)
        "revenue": pl.Int64(),  # USD; null when unknown (TMDB's 0)
        "snapshot_ts": UTC_US,  # when the crawl saw the movie like this
    }
)

RATINGS_SCHEMA = pl.Schema(
    {
        "user_id": pl.Int64(),
        "movie_id": pl.Int64(),  # a TMDB id wherever the source maps to one (MovieLens links.csv)
        "rating": pl.Float64(),
        "event_timestamp": UTC_US,
    }
)

QUARANTINE_SCHEMA = pl.Schema(
    {
        "kind": pl.String(),  # "movies" or "ratings"
        "raw": pl.String(),  # the record as read (JSON text), or the start of an unreadable file
        "reason": pl.String(),
        "source": pl.String(),  # the file it came from
        "snapshot_ts": UTC_US,  # the snapshot it belonged to (null for ratings)
    }
)

# TMDB's movie genres (GET /genre/movie/list), the ids list pages carry in genre_ids.
TMDB_GENRES: dict[int, str] = {
    28: "Action",
    12: "Adventure",
    16: "Animation",
    35: "Comedy",
    80: "Crime",
    99: "Documentary",
    18: "Drama",
    10751: "Family",
    14: "Fantasy",
    36: "History",
    27: "Horror",
    10402: "Music",
    9648: "Mystery",
    10749: "Romance",
    878: "Science Fiction",
    10770: "TV Movie",
    53: "Thriller",
    10752: "War",
    37: "Western",
}


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower())


# Feature-name form of each genre: "Science Fiction" -> "science_fiction".
TMDB_GENRE_SLUGS: dict[int, str] = {gid: _slug(name) for gid, name in TMDB_GENRES.items()}


@dataclass
class LoadResult:
    """What a load read: accepted rows in the canonical schema, quarantined records with a
    reason, and the counts, which always add up (`accepted_count + quarantined_count == read`).

    `read` is counted where the records are read, before any validation, and checked against
    the split, so a record lost on the way is an error rather than a quietly smaller load.
    `normalised` counts the documented repairs applied to accepted rows (a 0 budget made null,
    an impossible release date made null, ...); `errors` lists files that could not be read at
    all (each is also one quarantined record)."""

    kind: Literal["movies", "ratings"]
    accepted: pl.DataFrame
    quarantined: pl.DataFrame
    read: int
    normalised: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    extras: dict[str, pl.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.accepted_count + self.quarantined_count != self.read:
            raise CinefeatError(
                f"loading {self.kind} lost records: read {self.read:,} but accepted "
                f"{self.accepted_count:,} + quarantined {self.quarantined_count:,} (a bug in "
                "cinefeat: please report it with the input)"
            )

    @classmethod
    def empty(cls, kind: Literal["movies", "ratings"]) -> LoadResult:
        schema = MOVIES_SCHEMA if kind == "movies" else RATINGS_SCHEMA
        return cls(kind, pl.DataFrame(schema=schema), pl.DataFrame(schema=QUARANTINE_SCHEMA), 0)

    @property
    def accepted_count(self) -> int:
        return self.accepted.height

    @property
    def quarantined_count(self) -> int:
        return self.quarantined.height

    def reasons(self) -> dict[str, int]:
        """Quarantined records per reason (reasons are grouped by their text before any ':')."""
        if self.quarantined.is_empty():
            return {}
        counts = (
            self.quarantined.select(pl.col("reason").str.split(":").list.first().alias("rule"))
            .group_by("rule")
            .len()
            .sort("len", descending=True)
        )
        return dict(zip(counts["rule"].to_list(), counts["len"].to_list(), strict=True))

    def summary(self) -> str:
        line = (
            f"{self.kind}: read {self.read:,} = accepted {self.accepted_count:,} "
            f"+ quarantined {self.quarantined_count:,}"
        )
        if reasons := self.reasons():
            line += " (" + ", ".join(f"{r}: {n:,}" for r, n in reasons.items()) + ")"
        return line
