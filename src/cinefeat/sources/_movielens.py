"""Loading a MovieLens download (ml-100k, ml-latest, ml-latest-small) into canonical rating
events, with quarantine, and its movies, users and links tables as extras.

Rating rows are checked in this order and quarantined under the first rule they break (the
reason's text before ':' names the rule): wrong field count, invalid user id, invalid movie id
(ids are positive integers), invalid rating (not a finite number), rating out of range
([1, 5] for ml-100k, [0.5, 5] for ml-latest), rating off scale (whole stars for ml-100k, half
stars for ml-latest), invalid timestamp (whole seconds after 1970-01-01 and up to 9999-12-31),
no tmdbId (ml-latest with links.csv: the movieId maps to no TMDB id), duplicate (the same
user, movie and timestamp as an earlier accepted row; the first is kept). Blank lines are not
rows. With links.csv the accepted movie_id is the TMDB id; without it (and always for ml-100k)
it is the MovieLens id, which `normalised` notes.

The movies, users and links files are reference tables, not events: a row there that cannot
be parsed (or a repeated id) is a CinefeatError naming the file and line, not a quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cinefeat.errors import CinefeatError
from cinefeat.sources._movielens_files import (
    ML100K_GENRES,
    data_lines,
    part,
    positive_int,
    read_links,
    read_movies_csv,
    read_u_item,
    read_u_user,
    split,
)
from cinefeat.sources._schema import QUARANTINE_SCHEMA, RATINGS_SCHEMA, LoadResult

__all__ = ["ML100K_GENRES", "MOVIELENS_ID_NOTE", "load_movielens"]

MOVIELENS_ID_NOTE = "movie_id is the MovieLens id (no links.csv)"

# datetime's last second; later seconds would also overflow epoch microseconds in Int64.
_MAX_SECONDS = 253_402_300_799


@dataclass(frozen=True)
class _Flavour:
    ratings: str  # the ratings file's name
    separator: str
    header: str | None
    scale: tuple[float, float, float]  # lowest, highest, step


_ML100K = _Flavour("u.data", "\t", None, (1.0, 5.0, 1.0))
_MLLATEST = _Flavour("ratings.csv", ",", "userId,movieId,rating,timestamp", (0.5, 5.0, 0.5))
_FLAVOURS = (_ML100K, _MLLATEST)
_EXPECTED = (
    "u.data (with u.item, u.user) for ml-100k, or ratings.csv (with movies.csv, links.csv) "
    "for ml-latest and ml-latest-small"
)


def load_movielens(path: str | Path) -> LoadResult:
    """Ratings of a MovieLens directory (or of its ratings file) as canonical rating events.

    extras: "movies" (movie_id, movielens_id, title, genres, year), plus "users" (ml-100k) or
    "links" (ml-latest with links.csv). Raises CinefeatError for a path that is not MovieLens
    and for a file that is not text in the expected encoding or format.
    """
    directory, flavour = _locate(Path(path))
    ratings_path = directory / flavour.ratings
    lines = data_lines(ratings_path, flavour.header)
    valid, rejected = _rating_rows(lines, flavour)
    extras: dict[str, pl.DataFrame] = {}
    if flavour is _MLLATEST and (directory / "links.csv").is_file():
        extras["links"] = read_links(directory / "links.csv")
        valid, unmapped = _map_to_tmdb(valid, extras["links"])
        rejected = pl.concat([rejected, unmapped])
    else:
        valid = valid.with_columns(movie_id=pl.col("movielens_id"))
    if flavour is _ML100K:
        if (directory / "u.item").is_file():
            extras["movies"] = read_u_item(directory / "u.item")
        if (directory / "u.user").is_file():
            extras["users"] = read_u_user(directory / "u.user")
    elif (directory / "movies.csv").is_file():
        extras["movies"] = read_movies_csv(directory / "movies.csv", extras.get("links"))
    accepted, duplicates = _drop_duplicates(valid)
    own_ids = "links" not in extras and accepted.height > 0
    quarantined = (
        pl.concat([rejected, duplicates])
        .sort("line")
        .select(
            kind=pl.lit("ratings"), raw="raw", reason="reason", source=pl.lit(str(ratings_path))
        )
    )
    return LoadResult(
        kind="ratings",
        accepted=accepted.select(list(RATINGS_SCHEMA)).cast(RATINGS_SCHEMA),
        quarantined=quarantined.with_columns(snapshot_ts=None).cast(QUARANTINE_SCHEMA),
        read=lines.height,
        normalised={MOVIELENS_ID_NOTE: accepted.height} if own_ids else {},
        extras=extras,
    )


def _locate(path: Path) -> tuple[Path, _Flavour]:
    if not path.exists():
        raise CinefeatError(f"load_movielens: {path} does not exist")
    if path.is_file():
        for flavour in _FLAVOURS:
            if path.name == flavour.ratings:
                return path.parent, flavour
        raise CinefeatError(
            f"load_movielens: {path} is not a MovieLens ratings file; expected a MovieLens "
            f"directory or its ratings file: {_EXPECTED}"
        )
    found = [f for f in _FLAVOURS if (path / f.ratings).is_file()]
    if len(found) > 1:
        raise CinefeatError(
            f"load_movielens: {path} holds both u.data (ml-100k) and ratings.csv (ml-latest); "
            "pass the ratings file to load"
        )
    if found:
        return path, found[0]
    inside = sorted(
        str(sub) for sub in path.iterdir()
        if sub.is_dir() and any((sub / f.ratings).is_file() for f in _FLAVOURS)
    )  # fmt: skip
    hint = f" (MovieLens directories inside it: {', '.join(inside)})" if inside else ""
    raise CinefeatError(
        f"load_movielens: {path} is not a MovieLens directory; expected {_EXPECTED}{hint}"
    )


def _rating_rows(lines: pl.DataFrame, flavour: _Flavour) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The valid ratings lines (line, raw, user_id, movielens_id, rating, event_timestamp) and
    the rejected ones (line, raw, reason), each under the first rule it breaks."""
    low, high, step = flavour.scale
    texts = {
        f"{name}_text": part(i) for i, name in enumerate(["user", "movie", "rating", "seconds"])
    }
    rows = split(lines, flavour.separator).with_columns(fields=pl.col("parts").list.len(), **texts)
    rows = rows.with_columns(
        user_id=positive_int(pl.col("user_text")),
        movielens_id=positive_int(pl.col("movie_text")),
        rating=pl.col("rating_text").cast(pl.Float64, strict=False),
        seconds=pl.col("seconds_text").cast(pl.Int64, strict=False),
    )
    fields, rating, seconds = pl.col("fields"), pl.col("rating"), pl.col("seconds")
    user, movie = pl.col("user_id"), pl.col("movielens_id")
    real, stars = rating.is_finite().fill_null(False), rating / step
    span = f"[{low:g}, {high:g}]"
    rules: list[tuple[pl.Expr, str, str | pl.Expr]] = [
        (fields != 4, "wrong field count: {} fields, expected 4", fields),
        (user.is_null(), "invalid user id: '{}' is not a positive integer", "user_text"),
        (movie.is_null(), "invalid movie id: '{}' is not a positive integer", "movie_text"),
        (~real, "invalid rating: '{}' is not a number", "rating_text"),
        (~rating.is_between(low, high), f"rating out of range: {{}} not in {span}", rating),
        (stars != stars.floor(), f"rating off scale: {{}} is not a multiple of {step:g}", rating),
        (seconds.is_null(), "invalid timestamp: '{}' is not whole seconds", "seconds_text"),
        # 0 is the usual stand-in for "unknown", and MovieLens began in the 1990s.
        (seconds <= 0, "invalid timestamp: {} is not after 1970-01-01", seconds),
        (seconds > _MAX_SECONDS, "invalid timestamp: {} is after 9999-12-31", seconds),
    ]
    # Rule numbers are cheap for every row; messages are formatted for the rejected few only.
    broken = pl.coalesce([pl.when(rule).then(pl.lit(i)) for i, (rule, _, _) in enumerate(rules)])
    rows = rows.with_columns(rule=broken)
    reason = pl.coalesce(
        [pl.when(pl.col("rule") == i).then(pl.format(t, a)) for i, (_, t, a) in enumerate(rules)]
    )
    rejected = rows.filter(pl.col("rule").is_not_null()).select(
        pl.col("line", "raw"), reason=reason
    )
    valid = rows.filter(pl.col("rule").is_null()).select(
        pl.col("line", "raw", "user_id", "movielens_id", "rating"),
        event_timestamp=(seconds * 1_000_000).cast(pl.Datetime("us", "UTC")),
    )
    return valid, rejected


def _map_to_tmdb(valid: pl.DataFrame, links: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Ratings with movie_id the movieId's TMDB id, and those whose movieId has none."""
    mapping = links.select("movielens_id", movie_id="tmdb_id", listed=pl.lit(True))
    rows = valid.join(mapping, on="movielens_id", how="left", maintain_order="left")
    unmapped = rows.filter(pl.col("movie_id").is_null()).select(
        pl.col("line", "raw"),
        reason=pl.when(pl.col("listed").is_null())
        .then(pl.format("no tmdbId: movieId {} is not in links.csv", "movielens_id"))
        .otherwise(pl.format("no tmdbId: movieId {} has no TMDB id in links.csv", "movielens_id")),
    )
    return rows.filter(pl.col("movie_id").is_not_null()).drop("listed"), unmapped


def _drop_duplicates(valid: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The first rating of each (user, movie, timestamp), and the repeats as rejected rows."""
    keys = ["user_id", "movie_id", "event_timestamp"]
    # Finding which keys repeat is cheaper than ranking all rows; the ranking then only
    # involves the (usually few) rows that share a key.
    shared = valid.with_columns(shared=pl.struct(keys).is_duplicated())
    clashing = shared.filter("shared").with_columns(
        kept_line=pl.col("line").first().over(keys), first=pl.struct(keys).is_first_distinct()
    )
    kept = shared.filter(~pl.col("shared")).vstack(clashing.filter("first").select(shared.columns))
    repeats = clashing.filter(~pl.col("first")).select(
        pl.col("line", "raw"),
        reason=pl.format("duplicate: same user, movie and timestamp as line {}", "kept_line"),
    )
    return kept.sort("line") if clashing.height else kept, repeats
