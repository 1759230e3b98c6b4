"""Reading MovieLens files: text lines (UTF-8, or Latin-1 where MovieLens used it) split into
fields, and the reference tables (u.item, u.user, links.csv, movies.csv), which are parsed
strictly: a bad row is a CinefeatError naming the file and line."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cinefeat.errors import CinefeatError

__all__ = [
    "ML100K_GENRES",
    "data_lines",
    "part",
    "positive_int",
    "read_links",
    "read_movies_csv",
    "read_u_item",
    "read_u_user",
    "split",
]

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip

_TITLE_YEAR = r"\((\d{4})(?:-(?:\d{4})?)?\)$"  # "(1995)", or a series' "(1975-1979)"
# A title is quoted (with "" for ") when it holds a comma or quote; unquoted, it is taken up to
# the last comma, as genres never hold one.
_MOVIES_CSV_LINE = (
    r'^(?<id>[^,]*),(?:"(?<quoted>(?:[^"]|"")*)"|(?<plain>(?:[^"].*)?)),(?<genres>[^,]*)$'
)
_MOVIES_EXTRA = pl.Schema({
    "movie_id": pl.Int64(), "movielens_id": pl.Int64(), "title": pl.String(),
    "genres": pl.List(pl.String), "year": pl.Int64(),
})  # fmt: skip


def _lines(path: Path, *, latin1_fallback: bool = False) -> pl.DataFrame:
    """The file's lines as `line` (1-based number) and `raw` (text without its line end; null
    for an empty line). The file must be UTF-8 text, or Latin-1 where `latin1_fallback`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CinefeatError(f"{path}: cannot read the file ({exc.strerror})") from exc
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise CinefeatError(f"{path}: not a text file (a NUL byte on line {line})")
    try:
        frame = _split_lines(data)
    except pl.exceptions.PolarsError as exc:
        try:
            data.decode("utf-8")  # only to say where: Polars does not
        except UnicodeDecodeError as bad:
            if not latin1_fallback:
                line = data.count(b"\n", 0, bad.start) + 1
                raise CinefeatError(
                    f"{path}: not UTF-8 text (line {line}, byte {bad.start}: {bad.reason})"
                ) from exc
            # ml-100k ships Latin-1 ("Am\xe9lie"); such bytes are never valid UTF-8, so a file
            # someone re-saved as UTF-8 is read as that and its titles are not double-decoded.
            frame = _split_lines(data.decode("latin-1").encode("utf-8"))
        else:
            raise CinefeatError(f"{path}: cannot read the lines ({exc})") from exc
    frame = frame.with_row_index("line", offset=1).with_columns(pl.col("line").cast(pl.Int64))
    if frame.height and (frame["raw"][0] or "").startswith("\ufeff"):
        # A byte-order mark is encoding, not content, and would spoil a header or first id.
        frame[0, "raw"] = frame["raw"][0][1:]
    return frame


def _split_lines(data: bytes) -> pl.DataFrame:
    if not data:
        return pl.DataFrame(schema={"raw": pl.String})
    # The caller made sure NUL never occurs, so as the separator it splits nothing: each line
    # is one field, split and UTF-8-checked in Rust rather than as millions of Python strings.
    return pl.read_csv(
        data, has_header=False, separator="\x00", quote_char=None, infer_schema=False,
        new_columns=["raw"], eol_char="\n",
    )  # fmt: skip


def data_lines(path: Path, header: str | None, *, latin1_fallback: bool = False) -> pl.DataFrame:
    """The non-blank lines after the header (checked when the format has one)."""
    lines = _lines(path, latin1_fallback=latin1_fallback)
    if header is not None:
        first = lines["raw"][0] if lines.height else None
        if first is None or first.strip() != header:
            raise CinefeatError(f"{path} line 1: expected the header {header!r}, found {first!r}")
        lines = lines.slice(1)
    return lines.filter(pl.col("raw").str.strip_chars() != "")


def split(lines: pl.DataFrame, separator: str) -> pl.DataFrame:
    """Adds `parts`, the line's fields, stripped of whitespace when a line holds a space."""
    parts = pl.col("raw").str.split(separator)
    # Stripping costs more than splitting, and MovieLens files never pad their fields.
    if lines.select(pl.col("raw").str.contains(" ", literal=True).any()).item():
        parts = parts.list.eval(pl.element().str.strip_chars())
    return lines.with_columns(parts=parts)


def part(i: int) -> pl.Expr:
    return pl.col("parts").list.get(i, null_on_oob=True)


def positive_int(field: pl.Expr) -> pl.Expr:
    number = field.cast(pl.Int64, strict=False)
    return pl.when(number > 0).then(number)


def _raise_first(frame: pl.DataFrame, path: Path, *problems: pl.Expr) -> None:
    """A reference file's first bad line, if any, as a CinefeatError; each problem is a
    message expression, null for a good line, and the first that applies is reported."""
    bad = frame.select("line", problem=pl.coalesce(problems)).drop_nulls("problem").head(1)
    if bad.height:
        raise CinefeatError(f"{path} line {bad['line'][0]}: {bad['problem'][0]}")


def _field_count(expected: int) -> pl.Expr:
    count = pl.col("parts").list.len()
    return pl.when(count != expected).then(pl.format(f"{{}} fields, expected {expected}", count))


def _id_problems(column: str, label: str) -> list[pl.Expr]:
    """Not a positive integer; the same id as an earlier line."""
    number = positive_int(pl.col(column))
    first = pl.col("line").min().over(number)
    return [
        pl.when(number.is_null()).then(
            pl.format(f"{label} '{{}}' is not a positive integer", pl.col(column))
        ),
        pl.when(pl.col("line") != first).then(
            pl.format(f"{label} {{}} repeats line {{}}", number, first)
        ),
    ]


def _year(title: pl.Expr) -> pl.Expr:
    return title.str.extract(_TITLE_YEAR, 1).cast(pl.Int64, strict=False)


def read_u_item(path: Path) -> pl.DataFrame:
    lines = split(data_lines(path, None, latin1_fallback=True), "|")
    flags = [part(5 + i) for i in range(len(ML100K_GENRES))]
    bad_flag = pl.any_horizontal([~flag.is_in(["0", "1"]) for flag in flags])
    lines = lines.with_columns(id_text=part(0))
    _raise_first(
        lines,
        path,
        _field_count(5 + len(ML100K_GENRES)),
        *_id_problems("id_text", "movie id"),
        pl.when(bad_flag).then(pl.lit("genre flags must be 0 or 1")),
    )
    title, released = part(1), part(2).str.to_date("%d-%b-%Y", strict=False)
    genres = [pl.when(f == "1").then(pl.lit(g)) for f, g in zip(flags, ML100K_GENRES, strict=True)]
    return lines.select(
        movie_id=pl.col("id_text").cast(pl.Int64),
        movielens_id=pl.col("id_text").cast(pl.Int64),
        title=title,
        genres=pl.concat_list(genres).list.drop_nulls(),
        # Some u.item titles lack "(year)"; their release date still dates them.
        year=pl.coalesce(_year(title), released.dt.year().cast(pl.Int64)),
    ).cast(_MOVIES_EXTRA)


def read_u_user(path: Path) -> pl.DataFrame:
    lines = split(data_lines(path, None, latin1_fallback=True), "|")
    lines = lines.with_columns(id_text=part(0), age_text=part(1))
    age = pl.col("age_text").cast(pl.Int64, strict=False)
    _raise_first(
        lines,
        path,
        _field_count(5),
        *_id_problems("id_text", "user id"),
        pl.when(age.is_null() | (age < 0)).then(
            pl.format("age '{}' is not a whole number of years", "age_text")
        ),
    )
    return lines.select(
        user_id=pl.col("id_text").cast(pl.Int64),
        age=age,
        gender=part(2),
        occupation=part(3),
        zip_code=part(4),  # text: "00501" keeps its zero, Canadian codes have letters
    )


def read_links(path: Path) -> pl.DataFrame:
    lines = split(data_lines(path, "movieId,imdbId,tmdbId"), ",")
    lines = lines.with_columns(id_text=part(0), imdb_text=part(1), tmdb_text=part(2))
    tmdb = positive_int(pl.col("tmdb_text"))
    _raise_first(
        lines,
        path,
        _field_count(3),
        *_id_problems("id_text", "movieId"),
        pl.when(~pl.col("imdb_text").str.contains(r"^\d*$")).then(
            pl.format("imdbId '{}' is not digits", "imdb_text")
        ),
        pl.when((pl.col("tmdb_text") != "") & tmdb.is_null()).then(
            pl.format("tmdbId '{}' is not a positive integer or empty", "tmdb_text")
        ),
    )
    return lines.select(
        movielens_id=pl.col("id_text").cast(pl.Int64),
        # TMDB and IMDb write the id as "tt0114709"; links.csv drops the "tt".
        imdb_id=pl.when(pl.col("imdb_text") != "").then(pl.lit("tt") + pl.col("imdb_text")),
        tmdb_id=tmdb,
    )


def read_movies_csv(path: Path, links: pl.DataFrame | None) -> pl.DataFrame:
    lines = data_lines(path, "movieId,title,genres")
    lines = lines.with_columns(parts=pl.col("raw").str.extract_groups(_MOVIES_CSV_LINE))
    lines = lines.unnest("parts").with_columns(id_text=pl.col("id").str.strip_chars())
    _raise_first(
        lines,
        path,
        pl.when(pl.col("id").is_null()).then(
            pl.lit("not movieId,title,genres (a title with a comma must be quoted)")
        ),
        *_id_problems("id_text", "movieId"),
    )
    title = pl.coalesce(
        pl.col("quoted").str.replace_all('""', '"', literal=True), pl.col("plain")
    ).str.strip_chars()
    genres = pl.col("genres").str.strip_chars()
    movies = lines.select(
        movielens_id=pl.col("id_text").cast(pl.Int64),
        title=title,
        genres=pl.when(genres.is_in(["", "(no genres listed)"]))
        .then(pl.lit([], pl.List(pl.String)))
        .otherwise(genres.str.split("|")),
        year=_year(title),
    )
    if links is None:
        movies = movies.with_columns(movie_id=pl.col("movielens_id"))
    else:
        tmdb = links.select("movielens_id", movie_id="tmdb_id")
        movies = movies.join(tmdb, on="movielens_id", how="left", maintain_order="left")
    return movies.select(list(_MOVIES_EXTRA)).cast(_MOVIES_EXTRA)
