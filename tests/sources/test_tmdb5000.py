"""The Kaggle TMDB-5000 movies CSV: JSON inside quoted CSV fields, zeros meaning unknown."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cinefeat import CinefeatError
from cinefeat.sources import MOVIES_SCHEMA
from cinefeat.sources._tmdb5000 import load_tmdb5000

SNAP = datetime(2017, 9, 1, tzinfo=UTC)
HEADER = (
    "budget,genres,homepage,id,keywords,original_language,original_title,overview,popularity,"
    "production_companies,production_countries,release_date,revenue,runtime,spoken_languages,"
    "status,tagline,title,vote_average,vote_count\n"
)
ROWS = [
    # a normal row, with commas and quotes inside quoted fields
    '237000000,"[{""id"": 28, ""name"": ""Action""}, '
    '{""id"": 878, ""name"": ""Science Fiction""}]",'
    'http://x,19995,"[]",en,Avatar,"In the 22nd century, a ""paraplegic"" Marine...",150.43,'
    '"[]","[]",'
    '2009-12-10,2787965087,162,"[]",Released,Enter the world,Avatar,7.2,11800\n',
    # zeros mean unknown; an unknown (retired) genre id; an empty release date
    '0,"[{""id"": 10769, ""name"": ""Foreign""}, {""id"": 18, ""name"": ""Drama""}]",,2,"[]",fr,'
    'Amélie,,3.5,"[]","[]",,0,0,"[]",Released,,Amélie,7.9,5000\n',
    # a bad vote average and a broken genres field
    '5,not json,,3,"[]",en,Bad,x,1.0,"[]","[]",2001-01-01,5,90,"[]",Released,,Bad,eleven,10\n',
    # the same id again: the one with fewer votes is quarantined
    '0,"[]",,19995,"[]",en,Avatar,dup,1.0,"[]","[]",2009-12-10,0,0,"[]",Released,,Avatar,7.0,10\n',
]


def test_rows_normalise_and_quarantine(tmp_path: Path) -> None:
    path = tmp_path / "tmdb_5000_movies.csv"
    path.write_text(HEADER + "".join(ROWS), encoding="utf-8")
    result = load_tmdb5000(path, snapshot_ts=SNAP)
    assert result.accepted.schema == MOVIES_SCHEMA
    rows = result.accepted.select(
        "movie_id", "title", "genre_ids", "release_date", "budget", "revenue", "runtime"
    ).rows()
    assert rows == [
        (19995, "Avatar", [28, 878], date(2009, 12, 10), 237000000, 2787965087, 162),
        (2, "Amélie", [18], None, None, None, None),
    ]
    assert result.accepted["overview"][0] == 'In the 22nd century, a "paraplegic" Marine...'
    assert sorted(result.quarantined["reason"].to_list()) == [
        "duplicate: movie_id 19995 appears again in snapshot 2017-09-01T00:00:00Z; kept the "
        f"record with the most votes (from {path})",
        "invalid vote_average: eleven",
    ]
    assert result.normalised["unknown genre ids dropped"] == 1
    assert result.normalised["budget 0 (unknown) made null"] == 1
    assert result.normalised["adult missing, taken as false"] == 2
    assert result.read == 4 == result.accepted_count + result.quarantined_count


def test_rows_the_csv_reader_cannot_split_are_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "tmdb_5000_movies.csv"
    short = '0,"[]",,7,"[]",en,Short\n'
    latin1 = ROWS[1].replace("Amélie", "Am\u00e9lie2").replace(",2,", ",8,").encode("latin-1")
    content = (HEADER + ROWS[0] + short).encode() + latin1 + ROWS[2].encode()
    path.write_bytes(content)
    result = load_tmdb5000(path, snapshot_ts=SNAP)
    assert result.accepted["movie_id"].to_list() == [19995]
    malformed = result.quarantined.filter(
        result.quarantined["reason"].str.starts_with("malformed CSV row")
    )
    assert malformed["raw"].to_list()[0] == short.strip()
    reasons = malformed["reason"].to_list()
    assert reasons[0].startswith("malformed CSV row: line 3: Expected Number of Columns: 20")
    assert reasons[1].startswith("malformed CSV row: line 4:") and "UTF" in reasons[1].upper()
    assert result.reasons() == {"malformed CSV row": 2, "invalid vote_average": 1}
    assert result.read == 4 == result.accepted_count + result.quarantined_count


def test_not_a_tmdb5000_file(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(CinefeatError, match="not a TMDB-5000 movies file; missing columns"):
        load_tmdb5000(path)


SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "tmdb5000"


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"TMDB-5000 CSV not found at {SHARED}")
def test_the_real_file() -> None:
    result = load_tmdb5000(SHARED / "tmdb_5000_movies.csv", snapshot_ts=SNAP)
    assert result.read == 4803 == result.accepted_count + result.quarantined_count
    assert result.accepted_count == 4803
    avatar = result.accepted.filter(result.accepted["movie_id"] == 19995).row(0, named=True)
    assert avatar["genre_ids"] == [28, 12, 14, 878]
    assert avatar["budget"] == 237000000 and avatar["runtime"] == 162
    assert (
        result.accepted["budget"].null_count() == result.normalised["budget 0 (unknown) made null"]
    )
