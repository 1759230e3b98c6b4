"""TMDB JSON loading: every messy case real dumps contain, on fixtures written here."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from cinefeat.sources import MOVIES_SCHEMA, QUARANTINE_SCHEMA
from cinefeat.sources._tmdb import load_tmdb, snapshot_time

SNAP = datetime(2024, 3, 1, 6, tzinfo=UTC)


def record(movie_id: Any = 1, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": movie_id,
        "title": f"Movie {movie_id}",
        "original_title": f"Movie {movie_id}",
        "original_language": "en",
        "release_date": "2020-05-01",
        "genre_ids": [18],
        "popularity": 12.5,
        "vote_average": 7.1,
        "vote_count": 100,
        "adult": False,
        "overview": "A story.",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()


def page(*records: dict[str, Any]) -> dict[str, Any]:
    return {"page": 1, "results": list(records), "total_pages": 1, "total_results": len(records)}


def write(path: Path, content: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return path


def load_one(tmp_path: Path, *records: dict[str, Any]) -> Any:
    return load_tmdb(write(tmp_path / "page.json", page(*records)), snapshot_ts=SNAP)


def reason_of(result: Any, movie_id: int) -> str:
    rows = result.quarantined.filter(pl.col("raw").str.contains(f'"id":{movie_id}[,}}]'))
    return str(rows["reason"][0])


def test_a_clean_page_gives_canonical_rows(tmp_path: Path) -> None:
    result = load_one(tmp_path, record(1), record(2, genre_ids=[28, 12]))
    assert result.accepted.schema == MOVIES_SCHEMA
    assert result.quarantined.schema == QUARANTINE_SCHEMA
    first = result.accepted.row(0, named=True)
    assert first == {
        "movie_id": 1,
        "title": "Movie 1",
        "original_title": "Movie 1",
        "original_language": "en",
        "release_date": date(2020, 5, 1),
        "genre_ids": [18],
        "popularity": 12.5,
        "vote_average": 7.1,
        "vote_count": 100,
        "adult": False,
        "overview": "A story.",
        "runtime": None,
        "budget": None,
        "revenue": None,
        "snapshot_ts": SNAP,
    }
    assert result.accepted["genre_ids"].to_list() == [[18], [28, 12]]
    assert (result.read, result.accepted_count, result.quarantined_count) == (2, 2, 0)


@pytest.mark.parametrize(
    ("release_date", "expected", "note"),
    [
        ("", None, "release_date missing or empty, kept as null"),
        (_DROP, None, "release_date missing or empty, kept as null"),
        (None, None, "release_date missing or empty, kept as null"),
        ("2020-13-45", None, "impossible release_date made null"),
        ("0000-00-00", None, "impossible release_date made null"),
        ("2021-02-29", None, "impossible release_date made null"),
        ("2024-02-29", date(2024, 2, 29), None),
    ],
)
def test_release_dates(tmp_path: Path, release_date: Any, expected: Any, note: str | None) -> None:
    result = load_one(tmp_path, record(1, release_date=release_date))
    assert result.accepted["release_date"].to_list() == [expected]
    assert result.normalised == ({note: 1} if note else {})


def test_numbers_as_strings_and_ints_as_floats(tmp_path: Path) -> None:
    result = load_one(
        tmp_path,
        record("7", popularity="33.25", vote_average=8, vote_count="1200", adult="false"),
        record(8, vote_count=15.0, popularity=3),
    )
    rows = result.accepted.select("movie_id", "popularity", "vote_average", "vote_count", "adult")
    assert rows.rows() == [(7, 33.25, 8.0, 1200, False), (8, 3.0, 7.1, 15, False)]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"popularity": _DROP}, "missing popularity"),
        ({"vote_average": None}, "missing vote_average"),
        ({"vote_count": _DROP}, "missing vote_count"),
        ({"popularity": "lots"}, "invalid popularity: lots"),
        ({"popularity": "NaN"}, "invalid popularity: NaN"),
        ({"vote_average": "-Infinity"}, "invalid vote_average: -Infinity"),
        ({"popularity": "inf"}, "invalid popularity: inf"),
        ({"vote_average": 11.5}, "invalid vote_average: 11.5 is outside 0-10"),
        ({"vote_count": 12.5}, "invalid vote_count: 12.5"),
        ({"vote_count": -3}, "invalid vote_count: -3"),
        ({"popularity": -1}, "invalid popularity: -1 is negative"),
        ({"adult": "maybe"}, "invalid adult: maybe"),
        ({"title": "", "original_title": _DROP}, "missing title"),
        ({"media_type": "tv"}, "not a movie: media_type tv"),
    ],
)
def test_bad_records_are_quarantined_with_a_reason(
    tmp_path: Path, fields: dict[str, Any], reason: str
) -> None:
    result = load_one(tmp_path, record(5, **fields), record(6))
    assert result.accepted["movie_id"].to_list() == [6]  # the valid one is kept
    assert reason_of(result, 5) == reason
    assert result.quarantined["source"].to_list() == [str(tmp_path / "page.json")]
    assert result.quarantined["snapshot_ts"].to_list() == [SNAP]


@pytest.mark.parametrize(
    ("movie_id", "reason"),
    [
        (_DROP, "missing id"),
        ("abc", "invalid id: abc"),
        (0, "invalid id: 0"),
        (2.5, "invalid id: 2.5"),
    ],
)
def test_bad_ids(tmp_path: Path, movie_id: Any, reason: str) -> None:
    rec = record(1)
    rec.pop("id")
    if movie_id is not _DROP:
        rec["id"] = movie_id
    result = load_one(tmp_path, rec)
    assert result.quarantined["reason"].to_list() == [reason]


def test_an_empty_title_is_taken_from_original_title_and_noted(tmp_path: Path) -> None:
    result = load_one(
        tmp_path,
        record(1, title="  ", original_title="기생충"),
        record(2, original_title=""),
        record(3),
    )
    assert result.accepted.select("title", "original_title").rows() == [
        ("기생충", "기생충"),
        ("Movie 2", "Movie 2"),
        ("Movie 3", "Movie 3"),
    ]
    assert result.normalised == {
        "title missing, taken from original_title": 1,
        "original_title missing, taken from title": 1,
    }


def test_every_problem_of_a_record_is_listed(tmp_path: Path) -> None:
    result = load_one(tmp_path, {"id": 3, "title": "Trimmed", "genre_ids": []})
    assert reason_of(result, 3) == "missing popularity; missing vote_average; missing vote_count"


def test_genres(tmp_path: Path) -> None:
    result = load_one(
        tmp_path,
        record(1, genre_ids=[]),
        record(2, genre_ids=_DROP),
        record(3, genre_ids=[18, 424242, 35, 18]),
        record(
            4, genre_ids=_DROP, genres=[{"id": 28, "name": "Action"}, {"id": 99, "name": "Doc"}]
        ),
    )
    assert result.accepted["genre_ids"].to_list() == [[], [], [18, 35], [28, 99]]
    assert result.normalised == {
        "genre ids missing, kept as empty": 1,
        "unknown genre ids dropped": 1,
    }


def test_urls_extra_keys_and_scripts_are_accepted(tmp_path: Path) -> None:
    titles = {11: "기생충", 12: "千と千尋の神隠し", 13: "Брат", 14: "अंधाधुन"}
    result = load_one(
        tmp_path,
        *[record(i, title=t, original_title=t) for i, t in titles.items()],
        record(
            15,
            poster_path="https://image.tmdb.org/t/p/w500/abc.jpg",
            backdrop_path="http://example.com/b.png",
            media_type="movie",
            character="Himself",
            rating=9.5,
            unknown_key={"nested": [1, 2]},
        ),
    )
    assert result.quarantined_count == 0
    assert result.accepted["title"].to_list()[:4] == list(titles.values())


def test_duplicates_in_one_snapshot_keep_the_most_voted(tmp_path: Path) -> None:
    write(tmp_path / "a" / "en.json", page(record(1, title="Parasite", vote_count=10)))
    write(tmp_path / "b" / "ko.json", page(record(1, title="기생충", vote_count=50), record(2)))
    write(tmp_path / "c" / "fr.json", page(record(1, title="Parasite FR", vote_count=50)))
    result = load_tmdb(tmp_path, snapshot_ts=SNAP)
    assert result.accepted.select("movie_id", "title").rows() == [(1, "기생충"), (2, "Movie 2")]
    reasons = result.quarantined["reason"].to_list()
    assert len(reasons) == 2 and all(r.startswith("duplicate: movie_id 1") for r in reasons)
    assert all("b/ko.json" in r for r in reasons)
    assert result.read == result.accepted_count + result.quarantined_count == 4


def test_the_same_movie_in_two_snapshots_is_two_rows(tmp_path: Path) -> None:
    write(tmp_path / "popular_2024-03-01.json", page(record(1, vote_count=10)))
    write(tmp_path / "popular_2024-03-02.json", page(record(1, vote_count=12)))
    result = load_tmdb(tmp_path)
    # A date alone is the end of that day: the crawl may have run at any time during it.
    assert result.accepted.select("vote_count", "snapshot_ts").rows() == [
        (10, datetime(2024, 3, 2, tzinfo=UTC)),
        (12, datetime(2024, 3, 3, tzinfo=UTC)),
    ]
    assert result.extras["files"]["snapshot_from"].to_list() == ["file name", "file name"]


def test_snapshot_time_precedence(tmp_path: Path) -> None:
    named = write(tmp_path / "crawl_20240301T0630.json", {})
    plain = write(tmp_path / "crawl.json", {})
    os.utime(plain, (1_700_000_000, 1_700_000_000))
    assert snapshot_time(named, SNAP).origin == "caller"
    assert snapshot_time(named).moment == datetime(2024, 3, 1, 6, 30, tzinfo=UTC)
    assert snapshot_time(plain).moment == datetime.fromtimestamp(1_700_000_000, UTC)
    assert snapshot_time(plain).origin == "file mtime"
    bogus = write(tmp_path / "id_20241399.json", {})  # not a date: falls back to the mtime
    assert snapshot_time(bogus).origin == "file mtime"
    dated = write(tmp_path / "popular_2024-02-29.json", {})  # a date alone: the end of the day
    assert snapshot_time(dated).moment == datetime(2024, 3, 1, tzinfo=UTC)
    midnight = write(tmp_path / "popular_2024-02-29T00-00.json", {})
    assert snapshot_time(midnight).moment == datetime(2024, 2, 29, tzinfo=UTC)


def test_shapes_other_than_list_pages(tmp_path: Path) -> None:
    detail = record(
        21,
        genre_ids=_DROP,
        genres=[{"id": 18, "name": "Drama"}],
        runtime=0,
        budget="1000000",
        revenue=0,
        credits={"cast": []},
        videos={"results": []},
    )
    write(tmp_path / "detail.json", detail)
    write(
        tmp_path / "collection.json", {"id": 9, "name": "Saga", "parts": [record(22), record(23)]}
    )
    write(tmp_path / "list.json", {"id": "x1", "name": "Faves", "items": [record(24)]})
    write(tmp_path / "credits.json", {"id": 5, "cast": [record(25)], "crew": [record(26)]})
    write(tmp_path / "keyed.json", {"27": {"title": "T", "details": record(27)}})
    (tmp_path / "lines.jsonl").write_text(
        json.dumps(record(28)) + "\n" + json.dumps(page(record(29))) + "\n", encoding="utf-8"
    )
    result = load_tmdb(tmp_path, snapshot_ts=SNAP)
    assert sorted(result.accepted["movie_id"].to_list()) == list(range(21, 30))
    detail_row = result.accepted.filter(pl.col("movie_id") == 21).row(0, named=True)
    assert (detail_row["runtime"], detail_row["budget"], detail_row["revenue"]) == (
        None,
        1000000,
        None,
    )
    assert detail_row["genre_ids"] == [18]


def test_an_unknown_shape_is_one_quarantined_record(tmp_path: Path) -> None:
    write(tmp_path / "weird.json", {"status_code": 34, "status_message": "not found"})
    write(tmp_path / "ok.json", page(record(1)))
    result = load_tmdb(tmp_path, snapshot_ts=SNAP)
    assert result.accepted_count == 1
    assert result.quarantined["reason"].to_list() == [
        "unknown JSON shape: top-level keys status_code, status_message"
    ]


def test_malformed_files_are_reported_and_do_not_stop_the_load(tmp_path: Path) -> None:
    (tmp_path / "a_truncated.json").write_text('{"page": 1, "results": [{"id": 1', encoding="utf-8")
    (tmp_path / "b_latin1.json").write_bytes('{"id": 2, "title": "Café"}'.encode("latin-1"))
    write(tmp_path / "c_good.json", page(record(3)))
    result = load_tmdb(tmp_path, snapshot_ts=SNAP)
    assert result.accepted["movie_id"].to_list() == [3]
    assert len(result.errors) == 2
    assert "a_truncated.json" in result.errors[0] and "at byte" in result.errors[0]
    assert "b_latin1.json" in result.errors[1] and "UTF-8" in result.errors[1]
    assert result.quarantined["reason"].str.starts_with("unreadable file").all()
    assert result.read == 3


def test_bad_lines_of_json_lines_are_quarantined_and_the_rest_kept(tmp_path: Path) -> None:
    lines = [
        json.dumps(page(record(1), record(2))).encode(),
        b'{"page": 1, "results": [{"id": 3',  # cut off mid-record
        b"",  # blank lines are not records
        "caf\u00e9".encode("latin-1"),  # not UTF-8
        json.dumps(record(4)).encode() + b"\r",  # CRLF line ending
        b"  \r",
    ]
    (tmp_path / "crawl.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    write(tmp_path / "other.json", page(record(5)))
    result = load_tmdb(tmp_path, snapshot_ts=SNAP)
    assert sorted(result.accepted["movie_id"].to_list()) == [1, 2, 4, 5]
    assert result.quarantined.select("reason", "raw").rows() == [
        ("unreadable line: line 2 is not valid JSON", '{"page": 1, "results": [{"id": 3'),
        ("unreadable line: line 4 is not UTF-8", "caf\ufffd"),
    ]
    assert result.read == 6
    assert result.errors == [
        f"{tmp_path / 'crawl.jsonl'}: 2 unreadable line(s), the first is line 2"
    ]
    files = result.extras["files"].sort("source")
    assert files.select("records", "status").rows() == [(5, "some lines unreadable"), (1, "read")]


def test_file_names_with_glob_characters(tmp_path: Path) -> None:
    # DuckDB treats every path as a pattern: "b*.json" must not also read "b1.json".
    write(tmp_path / "a[1].json", page(record(1)))
    write(tmp_path / "b*.json", page(record(2)))
    write(tmp_path / "b1.json", page(record(3)))
    write(tmp_path / "c?.jsonl", page(record(4)))
    result = load_tmdb(tmp_path, snapshot_ts=SNAP)
    assert sorted(result.accepted["movie_id"].to_list()) == [1, 2, 3, 4]
    assert (result.read, result.quarantined_count) == (4, 0)
    assert sorted(result.extras["files"]["records"].to_list()) == [1, 1, 1, 1]


def test_a_load_that_loses_records_raises() -> None:
    from cinefeat import CinefeatError
    from cinefeat.sources import LoadResult

    accepted = pl.DataFrame(schema=MOVIES_SCHEMA)
    with pytest.raises(CinefeatError, match="lost records: read 3 but accepted 0"):
        LoadResult("movies", accepted, pl.DataFrame(schema=QUARANTINE_SCHEMA), read=3)


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    from cinefeat import CinefeatError

    with pytest.raises(CinefeatError, match="does not exist"):
        load_tmdb(tmp_path / "nope")


def test_a_folder_without_tmdb_files_says_so(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a crawl")
    result = load_tmdb(tmp_path)
    assert (result.read, result.accepted_count, result.quarantined_count) == (0, 0, 0)
    assert result.errors == [f"no TMDB files (*.json, *.jsonl, *.ndjson) under {tmp_path}"]


SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.mark.skipif(not (SHARED / "tmdb").is_dir(), reason=f"real TMDB data not found at {SHARED}")
def test_real_tmdb_responses() -> None:
    result = load_tmdb(SHARED / "tmdb", snapshot_ts=SNAP)
    assert result.errors == []
    assert result.read == result.accepted_count + result.quarantined_count
    assert result.accepted_count > 500  # many sources repeat the same popular movies
    assert result.accepted["movie_id"].is_unique().all()  # one snapshot: one row per movie
    reasons = result.reasons()
    assert set(reasons) <= {
        "duplicate",
        "missing popularity; missing vote_average; missing vote_count",
    }
    titles = set(result.accepted["title"].to_list())
    assert any("\u0400" <= ch <= "\u04ff" for title in titles for ch in title)  # Russian pages
