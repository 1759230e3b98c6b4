"""Writing a synthetic world in the shapes of the real sources: daily TMDB `/movie/popular`
crawls as JSON Lines of list pages, and MovieLens ml-latest CSVs.

Built with Polars end to end (page structs grouped and written with `write_ndjson`); the only
Python loop is over crawl days, one file each.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from cinefeat.sources._schema import TMDB_GENRES

if TYPE_CHECKING:
    from cinefeat.sources.synthetic import World

__all__ = ["PAGE_SIZE", "TMDB_RECORD_KEYS", "write_movielens", "write_tmdb"]

PAGE_SIZE = 20
# The keys of a /movie/popular result, in the API's order.
TMDB_RECORD_KEYS = (
    "adult", "backdrop_path", "genre_ids", "id", "original_language", "original_title",
    "overview", "popularity", "poster_path", "release_date", "title", "video", "vote_average",
    "vote_count",
)  # fmt: skip
# MovieLens names the TMDB genres it shares differently and has no History or TV Movie.
_MOVIELENS_GENRES = {
    **{name: name for name in TMDB_GENRES.values()},
    "Science Fiction": "Sci-Fi",
    "Family": "Children",
    "Music": "Musical",
    "History": None,
    "TV Movie": None,
}


def write_tmdb(world: World, out_dir: Path) -> list[Path]:
    """`tmdb/popular_YYYY-MM-DDTHH-00.jsonl` (the crawl time, which a loader reads from the
    name; a date alone would mean the end of the day): each line a
    list page {page, results (20 records by popularity, highest first), total_pages,
    total_results} of that day's crawl."""
    directory = out_dir / "tmdb"
    directory.mkdir(parents=True, exist_ok=True)
    extras = world.movies.select("movie_id", "poster_path", "backdrop_path", "video")
    records = (
        world.snapshots.join(extras, on="movie_id", how="left", maintain_order="left")
        .sort(
            ["snapshot_ts", "popularity", "movie_id"],
            descending=[False, True, False],
        )
        .with_columns(
            day=pl.col("snapshot_ts").dt.date(),
            page=pl.int_range(pl.len()).over("snapshot_ts") // PAGE_SIZE + 1,
        )
        .select(
            "day",
            "page",
            pl.struct(
                "adult",
                "backdrop_path",
                "genre_ids",
                pl.col("movie_id").alias("id"),
                "original_language",
                "original_title",
                "overview",
                "popularity",
                "poster_path",
                pl.col("release_date").dt.strftime("%Y-%m-%d").fill_null(""),
                "title",
                "video",
                "vote_average",
                "vote_count",
            ).alias("record"),
        )
    )
    pages = (
        records.group_by("day", "page", maintain_order=True)
        .agg(results=pl.col("record"), count=pl.len())
        .with_columns(
            total_pages=pl.col("page").max().over("day"),
            total_results=pl.col("count").sum().over("day"),
        )
    )
    hour = world.config.crawl_hour
    suffix = f"T{hour:02d}-00"
    paths = []
    for (day,), frame in pages.partition_by("day", maintain_order=True, as_dict=True).items():
        path = directory / f"popular_{day}{suffix}.jsonl"
        frame.select("page", "results", "total_pages", "total_results").write_ndjson(path)
        paths.append(path)
    return paths


def write_movielens(world: World, out_dir: Path) -> list[Path]:
    """`movielens/ratings.csv`, `movies.csv` and `links.csv` as in ml-latest: MovieLens ids
    (their own numbering), unix-second timestamps, "Title (Year)" titles with a leading
    article moved to the end, pipe-separated MovieLens genre names, 7-digit IMDb ids.
    Only movies with at least one rating are listed, as MovieLens does."""
    directory = out_dir / "movielens"
    directory.mkdir(parents=True, exist_ok=True)
    ids = world.movies.select("movie_id", "movielens_id")
    ratings = (
        world.ratings.join(ids, on="movie_id", how="left")
        .select(
            pl.col("user_id").alias("userId"),
            pl.col("movielens_id").alias("movieId"),
            "rating",
            pl.col("event_timestamp").dt.epoch("s").alias("timestamp"),
        )
        .sort("userId", "movieId")
    )
    rated = world.movies.join(
        ratings.select(pl.col("movieId").unique()),
        left_on="movielens_id",
        right_on="movieId",
        how="semi",
    ).sort("movielens_id")
    genre_names = pl.col("genre_ids").list.eval(
        pl.element().replace_strict(
            list(TMDB_GENRES),
            [_MOVIELENS_GENRES[name] for name in TMDB_GENRES.values()],
            return_dtype=pl.String,
        )
    )
    title = pl.col("title")
    moved = pl.concat_str(title.str.strip_prefix("The "), pl.lit(", The"))
    ml_title = pl.when(title.str.starts_with("The ")).then(moved).otherwise(title)
    year = pl.col("release_date").dt.year().cast(pl.String)
    movies = rated.select(
        pl.col("movielens_id").alias("movieId"),
        pl.when(year.is_null())
        .then(ml_title)
        .otherwise(pl.concat_str(ml_title, pl.lit(" ("), year, pl.lit(")")))
        .alias("title"),
        genre_names.list.drop_nulls().list.join("|").alias("genres"),
    ).with_columns(
        pl.when(pl.col("genres") == "")
        .then(pl.lit("(no genres listed)"))
        .otherwise("genres")
        .alias("genres")
    )
    links = rated.select(
        pl.col("movielens_id").alias("movieId"),
        pl.col("imdb_id").cast(pl.String).str.zfill(7).alias("imdbId"),
        pl.col("movie_id").alias("tmdbId"),
    )
    paths = []
    for name, frame in (("ratings", ratings), ("movies", movies), ("links", links)):
        path = directory / f"{name}.csv"
        frame.write_csv(path)
        paths.append(path)
    return paths
