"""The synthetic movie world: deterministic, in the canonical schemas, with the structure
models are meant to learn (release peaks, growing votes, quality behind ratings), and written
exactly like TMDB list pages and MovieLens ml-latest files."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cinefeat.sources._schema import MOVIES_SCHEMA, RATINGS_SCHEMA, TMDB_GENRES
from cinefeat.sources.synthetic import (
    SyntheticConfig,
    World,
    WorldConfig,
    generate_rating_events,
    generate_world,
    write_world,
)

CONFIG = WorldConfig(movies=1_500, users=800, days=45, seed=7)
SMALL = WorldConfig(movies=250, users=150, days=4, seed=3)
# The keys of a real /movie/popular page and its results (TMDB API, as captured in
# shared/data/tmdb/jdrouet__tmdb-api/assets/movie-popular.json), in the API's order.
PAGE_KEYS = ["page", "results", "total_pages", "total_results"]
RECORD_KEYS = [
    "adult", "backdrop_path", "genre_ids", "id", "original_language", "original_title",
    "overview", "popularity", "poster_path", "release_date", "title", "video", "vote_average",
    "vote_count",
]  # fmt: skip
MOVIELENS_GENRES = {
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
}  # fmt: skip


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(CONFIG)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, Path, dict[str, list[Path]]]:
    small = generate_world(SMALL)
    out = tmp_path_factory.mktemp("world")
    return small, out, write_world(small, out)


def _by_day(world: World) -> pl.DataFrame:
    """Snapshots with the crawl day index and each movie's release day index."""
    start = world.config.start
    return world.snapshots.with_columns(
        (pl.col("snapshot_ts") - pl.lit(start)).dt.total_days().alias("day"),
        (pl.col("release_date") - pl.lit(start.date())).dt.total_days().alias("release_day"),
    )


# --- determinism and schemas ------------------------------------------------------------


def test_same_seed_same_world_and_other_seed_another(world: World) -> None:
    again = generate_world(CONFIG)
    for name in ("movies", "snapshots", "ratings", "users"):
        assert_frame_equal(getattr(world, name), getattr(again, name))
    other = generate_world(replace(CONFIG, seed=8))
    assert not world.movies["movie_id"].equals(other.movies["movie_id"])
    assert not world.snapshots["popularity"].equals(other.snapshots["popularity"])
    assert not world.ratings.equals(other.ratings)
    # Each part has its own stream: fewer users leave the catalogue and crawls as they were.
    fewer_users = generate_world(replace(CONFIG, users=10))
    assert_frame_equal(world.snapshots, fewer_users.snapshots)


def test_same_seed_same_files(
    written: tuple[World, Path, dict[str, list[Path]]], tmp_path: Path
) -> None:
    _, out, paths = written
    again = write_world(generate_world(SMALL), tmp_path / "again")
    other = write_world(generate_world(replace(SMALL, seed=4)), tmp_path / "other")
    for source in ("tmdb", "movielens"):
        names = [p.relative_to(out) for p in paths[source]]
        assert names == [p.relative_to(tmp_path / "again") for p in again[source]]
        for first, second, third in zip(paths[source], again[source], other[source], strict=True):
            assert first.read_bytes() == second.read_bytes() != third.read_bytes()


def test_frames_have_the_canonical_schemas(world: World) -> None:
    assert world.snapshots.schema == MOVIES_SCHEMA
    assert world.ratings.schema == RATINGS_SCHEMA


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="midnight"):
        WorldConfig(start=datetime(2024, 1, 1, 6, tzinfo=UTC))
    with pytest.raises(ValueError, match="UTC"):
        WorldConfig(start=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="movies"):
        WorldConfig(movies=0)


def test_rating_event_generator_is_unchanged() -> None:
    # The demo and benchmarks depend on these exact counts for these configs.
    events = generate_rating_events(SyntheticConfig())
    assert events.columns == ["user_id", "movie_id", "rating", "event_timestamp"]
    assert (events.height, events["rating"].sum()) == (114_274, 396_417.0)
    small = generate_rating_events(SyntheticConfig(n_users=500, n_movies=300, days=14, seed=7))
    assert small.height == 8_837


# --- the catalogue ----------------------------------------------------------------------


def test_movie_ids_are_unique_tmdb_like(world: World) -> None:
    movies = world.movies
    ids = movies["movie_id"]
    assert ids.n_unique() == movies.height == CONFIG.movies
    assert ids.max() > 10 * CONFIG.movies  # a sparse id space, not 1..N
    # Later releases tend to have larger ids, as TMDB's ids grow with the database.
    dated = movies.drop_nulls("release_date")
    days = dated["release_date"].dt.epoch("d").cast(pl.Float64)
    assert np.corrcoef(days.to_numpy(), dated["movie_id"].to_numpy())[0, 1] > 0.5
    assert movies["movielens_id"].n_unique() == movies.height
    assert movies["imdb_id"].n_unique() == movies.height


def test_languages_and_titles(world: World) -> None:
    movies = world.movies
    share = movies["original_language"].value_counts(normalize=True, sort=True)
    assert share["original_language"][0] == "en" and 0.5 < share["proportion"][0] < 0.7
    assert set(share["original_language"][:6]) >= {"fr", "es", "ja"}
    scripts = {
        "ko": r"[\uac00-\ud7a3]",
        "ja": r"[\u3040-\u30ff\u4e00-\u9fff]",
        "ru": r"[\u0410-\u044f]",
    }
    for lang, pattern in scripts.items():
        rows = movies.filter(pl.col("original_language") == lang)
        assert 0.01 < rows.height / movies.height < 0.08
        assert rows["original_title"].str.contains(pattern).all()
        translated = rows.filter(pl.col("title") != pl.col("original_title"))
        assert 0.5 < translated.height / rows.height < 1.0  # mostly translated, some not
        assert translated["title"].str.contains(r"^[A-Za-z ]+$").all()
    english = movies.filter(pl.col("original_language") == "en")
    assert (english["title"] == english["original_title"]).all()
    assert english["title"].n_unique() > 0.5 * english.height
    overview = movies["overview"]
    assert ((overview == "").mean() or 0) < 0.06
    assert overview.str.contains(r"^An? [a-z-]+ [a-z ]+ .+\.$").mean() > 0.9  # type: ignore[operator]


def test_genres_follow_tmdb_frequencies(world: World) -> None:
    genres = world.movies["genre_ids"]
    assert genres.list.len().is_between(1, 4).all()
    assert (genres.list.n_unique() == genres.list.len()).all()
    counts = genres.explode().value_counts(normalize=True, sort=True)
    assert set(counts["genre_ids"]) <= set(TMDB_GENRES)
    top = counts["genre_ids"].head(5).to_list()
    assert top[0] == 18 and {35, 53, 28} <= set(top)  # Drama, then Comedy, Thriller, Action
    assert set(counts["genre_ids"].tail(3)) >= {37, 10770}  # Western and TV Movie are rare


def test_release_dates_spread_over_decades_with_future_releases(world: World) -> None:
    release = world.movies["release_date"]
    start, end = CONFIG.start.date(), CONFIG.start.date() + timedelta(days=CONFIG.days)
    assert 0 < release.null_count() < 0.05 * release.len()
    years = release.dt.year().drop_nulls()
    assert years.min() < 1960 and (years < 2000).mean() > 0.1  # type: ignore[operator]
    future = (release >= start).mean() or 0.0
    assert 0.02 < future < 0.15
    assert (release >= end).sum() > 0  # some are released after the crawl ends


def test_static_attributes_look_like_tmdb(world: World) -> None:
    movies = world.movies
    assert 0 < (movies["adult"].mean() or 0) < 0.05
    for column in ("runtime", "budget", "revenue"):
        assert 0 < movies[column].null_count() < movies.height
        assert (movies[column].drop_nulls() > 0).all()
    assert movies["budget"].null_count() > movies["runtime"].null_count()  # budgets often unknown
    assert movies["quality"].is_between(0, 10).all()
    paths = movies["poster_path"].drop_nulls()
    assert paths.str.contains(r"^/[A-Za-z0-9]{27}\.jpg$").all()


# --- the daily crawls -------------------------------------------------------------------


def test_each_crawl_shows_released_and_soon_released_movies(world: World) -> None:
    snaps = _by_day(world)
    expected = world.config.movies * world.config.days
    assert 0.9 * expected < snaps.height <= expected
    assert snaps.select(pl.col("snapshot_ts").dt.hour().unique()).item() == CONFIG.crawl_hour
    dated = snaps.drop_nulls("release_day")
    assert (dated["release_day"] <= dated["day"] + CONFIG.lead_days).all()
    pre_release = dated.filter(pl.col("release_day") > pl.col("day"))
    assert pre_release.height > 0
    assert (pre_release["vote_count"] == 0).all() and (pre_release["vote_average"] == 0).all()
    last_day = snaps.filter(pl.col("day") == CONFIG.days - 1)
    release = world.movies["release_date"]
    soon = release.is_null() | (release <= CONFIG.start.date() + timedelta(CONFIG.days - 1 + 60))
    assert last_day.height == soon.sum()


def test_popularity_is_zipf_like(world: World) -> None:
    first = _by_day(world).filter(pl.col("day") == 0)["popularity"].sort(descending=True)
    assert first.min() == pytest.approx(0.6)  # TMDB's floor
    top = first.to_numpy()[:100]
    assert top[0] > 20 * top[99]  # a long head


def test_popularity_peaks_at_release_and_decays(world: World) -> None:
    snaps = _by_day(world).filter(pl.col("release_day").is_between(0, CONFIG.days - 15))
    peaks = snaps.group_by("movie_id").agg(
        (pl.col("day").get(pl.col("popularity").arg_max()) - pl.first("release_day")).alias("lag")
    )
    # The peak is at release give or take day-to-day noise (AR(1), sd 0.2 on log popularity).
    assert peaks.height >= 10 and peaks["lag"].median() <= 3  # type: ignore[operator]
    assert peaks["lag"].is_between(-3, 10).mean() > 0.85  # type: ignore[operator]

    def at(offset: int) -> pl.DataFrame:
        on_day = snaps.filter(pl.col("day") == pl.col("release_day") + offset)
        return on_day.select("movie_id", pl.col("popularity").alias(f"after_{offset}"))

    ratio = at(0).join(at(14), on="movie_id").select(pl.col("after_14") / pl.col("after_0"))
    # Two weeks on, the burst has lost about half its height (decay_days = 21).
    assert ratio.to_series().median() < 0.75  # type: ignore[operator]
    assert (ratio.to_series() < 1).mean() > 0.85  # type: ignore[operator]


def test_vote_count_never_decreases(world: World) -> None:
    diffs = world.snapshots.select(
        pl.col("vote_count").diff().over("movie_id", order_by="snapshot_ts")
    ).drop_nulls()
    assert (diffs["vote_count"] >= 0).all()
    grew = world.snapshots.group_by("movie_id").agg(
        (pl.col("vote_count").max() - pl.col("vote_count").min()).alias("growth"),
        pl.col("popularity").mean(),
    )
    # Popular movies gather votes faster.
    assert grew.select(pl.corr("growth", "popularity", method="spearman")).item() > 0.5


def test_vote_average_converges_to_quality(world: World) -> None:
    last = _by_day(world).filter(pl.col("day") == CONFIG.days - 1)
    joined = last.join(world.movies.select("movie_id", "quality"), on="movie_id")
    error = (pl.col("vote_average") - pl.col("quality")).abs().mean()
    many = joined.filter(pl.col("vote_count") >= 200).select(error).item()
    few = joined.filter(pl.col("vote_count").is_between(1, 9)).select(error).item()
    # Single votes spread ~1.8 around quality: ~0.1 error at 200+ votes, ~0.6+ with a few.
    assert many < 0.2
    assert few > 3 * many
    assert last["vote_average"].is_between(0, 10).all()


# --- users and ratings ------------------------------------------------------------------


def test_user_activity_is_heavy_tailed(world: World) -> None:
    per_user = world.ratings.group_by("user_id").len()["len"].sort(descending=True).to_numpy()
    top_share = per_user[: per_user.size // 10].sum() / per_user.sum()
    # Log-normal activity with sd 1.3: the top 10% of users give about half of all ratings.
    assert top_share > 0.35
    assert per_user.max() > 10 * np.median(per_user)


def test_ratings_are_valid_events(world: World) -> None:
    ratings = world.ratings.join(world.movies.select("movie_id", "release_date"), on="movie_id")
    assert ((ratings["rating"] * 2) % 1 == 0).all() and ratings["rating"].is_between(0.5, 5).all()
    assert ratings.select(pl.struct("user_id", "movie_id").is_unique().all()).item()
    start = CONFIG.start
    assert (
        ratings["event_timestamp"]
        .is_between(start, start + timedelta(days=CONFIG.days), closed="left")
        .all()
    )
    released = ratings.drop_nulls("release_date")
    assert (released["event_timestamp"].dt.date() >= released["release_date"]).all()
    assert (ratings["event_timestamp"].dt.microsecond() == 0).all()
    assert world.ratings["event_timestamp"].is_sorted()


def test_ratings_follow_movie_quality(world: World) -> None:
    joined = world.ratings.join(world.movies.select("movie_id", "quality"), on="movie_id")
    r = np.corrcoef(joined["rating"].to_numpy(), joined["quality"].to_numpy())[0, 1]
    # rating = 3.3 + 0.5 (quality - 6.3) + taste + leniency (sd 0.35) + noise (sd 0.6), then
    # rounded: with quality sd ~0.9 the model's correlation is about 0.5. 0.3 leaves room for
    # sampling error (~0.01 at this size) and selection effects, yet no world without the
    # quality term gets there (its correlation would be ~0).
    assert r > 0.3


def test_users_pick_movies_matching_their_taste(world: World) -> None:
    rated = world.ratings.join(world.users, on="user_id").join(world.movies, on="movie_id")
    favourite = rated["favourite_genre_id"]
    shuffled = favourite.sample(fraction=1.0, shuffle=True, seed=0)
    hit = rated["genre_ids"].list.contains(favourite).mean()
    by_chance = rated["genre_ids"].list.contains(shuffled).mean()
    # A user's favourite genre (largest taste over its base share) is in their movies far
    # more often than another user's favourite is.
    assert hit > 1.5 * by_chance  # type: ignore[operator]


# --- the written files ------------------------------------------------------------------


def test_tmdb_files_are_list_pages(written: tuple[World, Path, dict[str, list[Path]]]) -> None:
    world, out, paths = written
    days = [CONFIG.start.date() + timedelta(days=d) for d in range(SMALL.days)]
    assert [p.relative_to(out).as_posix() for p in paths["tmdb"]] == [
        f"tmdb/popular_{d.isoformat()}T06-00.jsonl" for d in days
    ]
    for day, path in zip(days, paths["tmdb"], strict=True):
        lines = path.read_text(encoding="utf-8").splitlines()
        pages = [json.loads(line) for line in lines]
        snapshot = world.snapshots.filter(pl.col("snapshot_ts").dt.date() == day)
        records = [record for page in pages for record in page["results"]]
        assert [list(page) for page in pages] == [PAGE_KEYS] * len(pages)
        assert [page["page"] for page in pages] == list(range(1, len(pages) + 1))
        assert {page["total_pages"] for page in pages} == {len(pages)}
        assert {page["total_results"] for page in pages} == {snapshot.height} == {len(records)}
        assert all(len(page["results"]) == 20 for page in pages[:-1])
        assert 1 <= len(pages[-1]["results"]) <= 20
        assert all(list(record) == RECORD_KEYS for record in records)
        popularity = [record["popularity"] for record in records]
        assert popularity == sorted(popularity, reverse=True)
        for record in records:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}|", record["release_date"])
            assert isinstance(record["adult"], bool) and isinstance(record["video"], bool)
            assert all(isinstance(g, int) for g in record["genre_ids"])
        ranked = snapshot.sort(["popularity", "movie_id"], descending=[True, False])
        assert [r["id"] for r in records] == ranked["movie_id"].to_list()
        assert [r["vote_count"] for r in records] == ranked["vote_count"].to_list()


def test_movielens_files_round_trip(written: tuple[World, Path, dict[str, list[Path]]]) -> None:
    world, out, paths = written
    names = [p.relative_to(out).as_posix() for p in paths["movielens"]]
    assert names == [f"movielens/{name}.csv" for name in ("ratings", "movies", "links")]
    ratings = pl.read_csv(out / "movielens/ratings.csv")
    links = pl.read_csv(out / "movielens/links.csv", schema_overrides={"imdbId": pl.String})
    movies = pl.read_csv(out / "movielens/movies.csv")
    assert ratings.columns == ["userId", "movieId", "rating", "timestamp"]
    assert links.columns == ["movieId", "imdbId", "tmdbId"]
    assert movies.columns == ["movieId", "title", "genres"]
    assert (ratings.select("userId", "movieId").is_unique()).all()
    assert links["imdbId"].str.contains(r"^\d{7,}$").all()
    assert not links["movieId"].equals(links["tmdbId"])  # MovieLens has its own numbering
    assert set(links["movieId"]) == set(ratings["movieId"]) == set(movies["movieId"])
    back = (
        ratings.join(links, on="movieId")
        .select(
            pl.col("userId").alias("user_id"),
            pl.col("tmdbId").alias("movie_id"),
            "rating",
            (pl.col("timestamp") * 1_000_000)
            .cast(pl.Datetime("us", "UTC"))
            .alias("event_timestamp"),
        )
        .sort("event_timestamp", "user_id", "movie_id")
    )
    assert_frame_equal(back, world.ratings)
    genres = set(movies["genres"].str.split("|").explode()) - {"(no genres listed)"}
    assert genres <= MOVIELENS_GENRES
    assert movies["title"].str.contains(r"\(\d{4}\)$").mean() > 0.9  # type: ignore[operator]


def test_files_load_back_through_the_loaders(
    written: tuple[World, Path, dict[str, list[Path]]], tmp_path: Path
) -> None:
    """The project's own loaders read the files back into exactly the generated frames."""
    tmdb = pytest.importorskip("cinefeat.sources._tmdb")
    movielens = pytest.importorskip("cinefeat.sources._movielens")
    world, out, _ = written
    movies = tmdb.load_tmdb(out / "tmdb")
    assert movies.quarantined_count == 0
    # List pages carry no runtime, budget or revenue; everything else comes back as generated,
    # snapshot times included (read from the file names).
    expected = world.snapshots.with_columns(
        pl.lit(None, pl.Int64).alias(c) for c in ("runtime", "budget", "revenue")
    )
    assert_frame_equal(movies.accepted.sort("snapshot_ts", "movie_id"), expected)
    ratings = movielens.load_movielens(out / "movielens")
    assert ratings.quarantined_count == 0
    assert_frame_equal(
        ratings.accepted.sort("event_timestamp", "user_id", "movie_id"), world.ratings
    )
    # A midnight crawl is named with its time too: a date alone would mean the end of the day.
    midnight = generate_world(replace(SMALL, days=2, crawl_hour=0))
    paths = write_world(midnight, tmp_path)["tmdb"]
    names = ["popular_2024-01-01T00-00.jsonl", "popular_2024-01-02T00-00.jsonl"]
    assert [p.name for p in paths] == names
    reloaded = tmdb.load_tmdb(tmp_path / "tmdb").accepted
    times = reloaded["snapshot_ts"].unique().sort()
    assert times.equals(midnight.snapshots["snapshot_ts"].unique().sort())
