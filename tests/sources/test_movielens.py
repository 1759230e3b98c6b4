"""MovieLens loading: both flavours into canonical ratings with every quarantine rule, the
movies/users/links extras, Latin-1 titles, and clear errors for what is not MovieLens."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cinefeat.errors import CinefeatError
from cinefeat.sources._movielens import MOVIELENS_ID_NOTE, load_movielens
from cinefeat.sources._schema import QUARANTINE_SCHEMA, RATINGS_SCHEMA, LoadResult

# Each line's fate is noted after it; line numbers count the blank line too.
U_DATA = [
    "196\t242\t3\t881250949",  # 1 accepted
    "186\t302\t3\t891717742",  # 2 accepted
    "22\t377\t7\t878887116",  # 3 rating out of range
    "244\t51\tabc\t880606923",  # 4 invalid rating
    "166\t346\t1",  # 5 wrong field count (the timestamp is missing)
    "196\t242\t3\t881250949",  # 6 duplicate of line 1
    "",  # 7 blank: not a row
    "298\t474\t4\t-5",  # 8 invalid timestamp (before 1970)
    "x\t474\t4\t884182806",  # 9 invalid user id
    "253\t0\t5\t891628467",  # 10 invalid movie id
    "305\t451\t3.5\t886324817",  # 11 off scale: ml-100k has whole stars
    "6\t86\t3\t88339.5",  # 12 invalid timestamp (not whole seconds)
    "62\t257\t2\t879372434",  # 13 accepted
    "196\t242\t5\t881250950",  # 14 accepted: same user and movie, another second
    "200\t242\t4\t99999999999999",  # 15 invalid timestamp (after 9999)
    "",  # the file's final newline
]
U_ITEM = [
    "242|Kolya (1996)|24-Jan-1997||http://x|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0",
    "302|L.A. Confidential (1997)|01-Jan-1997||http://x|0|0|0|0|0|0|1|0|0|0|1|0|0|1|0|0|1|0|0",
    "257|Amélie|01-Jan-2001||http://x|0|0|0|0|0|1|0|0|0|0|0|0|0|0|1|0|0|0|0",
    "377|Café au lait (1993)|01-Jan-1993||http://x|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0",
    "267|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0",
]
U_USER = ["196|49|M|writer|55105", "186|39|F|executive|00000", "22|25|M|writer|E2A4H"]

RATINGS_CSV = [
    "userId,movieId,rating,timestamp",  # 1
    "1,1,4.0,964982703",  # 2 accepted as TMDB 862
    "1,3,4.0,964981247",  # 3 accepted as TMDB 15602
    "1,2,7.0,964982224",  # 4 rating out of range
    "1,6,abc,964982400",  # 5 invalid rating
    "1,47,5.0",  # 6 wrong field count
    "2,4,3.0,835355493",  # 7 no tmdbId: links.csv leaves it empty
    "2,999,3.0,835355493",  # 8 no tmdbId: not in links.csv
    "1,1,4.0,964982703",  # 9 duplicate of line 2
    "1,1,3.5,964982704",  # 10 accepted
    "3,5,0.5,1147880044",  # 11 accepted: half a star is the lowest rating
    "3,6,2.3,1147880044",  # 12 off the half-star scale
    "3,2,0,1147880044",  # 13 rating out of range
    "4,1,4.0,0",  # 14 invalid timestamp (0 stands for unknown)
    "5,7,4.0,964982703",  # 15 accepted as TMDB 11
    "5,8,4.0,964982703",  # 16 duplicate of line 15: movieIds 7 and 8 are both TMDB 11
    "6,1,nan,964982703",  # 17 invalid rating
    "7,,4.0,964982703",  # 18 invalid movie id (an empty field)
    "",
]
LINKS_CSV = [
    "movieId,imdbId,tmdbId",
    "1,0114709,862",
    "2,0113497,8844",
    "3,0113228,15602",
    "4,0114885,",
    "5,0211915,194",
    "6,0113277,949",
    "7,0076759,11",
    "8,0076759,11",
]
MOVIES_CSV = [
    "movieId,title,genres",
    "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy",
    '3,"Grumpier Old Men, The (1995)",Comedy|Romance',
    '4,"""Great Performances"" Cats (1998)",Musical',
    '5,"Amélie (Fabuleux destin d\'Amélie Poulain, Le) (2001)",Comedy|Romance',
    "7,Star Wars: Episode IV - A New Hope (1977),(no genres listed)",
    "8,Fawlty Towers (1975-1979),Comedy",
    '9,Dr. Strangelove, or "The Bomb" (1964),Comedy|War',  # unquoted: taken up to the last comma
]


def write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("\n".join(lines).encode(encoding))
    return path


def ml100k(root: Path, item_encoding: str = "latin-1") -> Path:
    write(root / "u.data", U_DATA)
    write(root / "u.item", [*U_ITEM, ""], encoding=item_encoding)
    write(root / "u.user", [*U_USER, ""])
    return root


def ml_latest(root: Path, links: bool = True) -> Path:
    write(root / "ratings.csv", RATINGS_CSV)
    write(root / "movies.csv", [*MOVIES_CSV, ""])
    if links:
        write(root / "links.csv", [*LINKS_CSV, ""])
    return root


def ratings(rows: list[tuple[int, int, float, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "movie_id": [r[1] for r in rows],
            "rating": [r[2] for r in rows],
            "event_timestamp": [datetime.fromtimestamp(r[3], UTC) for r in rows],
        },
        schema=RATINGS_SCHEMA,
    )


def quarantine(result: LoadResult) -> list[tuple[str, str]]:
    return list(zip(result.quarantined["raw"], result.quarantined["reason"], strict=True))


def assert_well_formed(result: LoadResult, source: Path, data_rows: int) -> None:
    assert result.kind == "ratings"
    assert result.accepted.schema == RATINGS_SCHEMA
    assert result.quarantined.schema == QUARANTINE_SCHEMA
    assert result.accepted_count + result.quarantined_count == result.read == data_rows
    assert set(result.quarantined["kind"]) <= {"ratings"}
    assert set(result.quarantined["source"]) <= {str(source)}
    assert result.quarantined["snapshot_ts"].null_count() == result.quarantined_count
    assert result.errors == []


def test_ml100k_ratings_accepted_and_every_rule_quarantined(tmp_path: Path) -> None:
    root = ml100k(tmp_path / "ml-100k")
    result = load_movielens(root)

    assert_well_formed(result, root / "u.data", data_rows=14)
    expected = ratings(
        [
            (196, 242, 3.0, 881250949),
            (186, 302, 3.0, 891717742),
            (62, 257, 2.0, 879372434),
            (196, 242, 5.0, 881250950),
        ]
    )
    assert_frame_equal(result.accepted, expected)
    assert quarantine(result) == [
        ("22\t377\t7\t878887116", "rating out of range: 7.0 not in [1, 5]"),
        ("244\t51\tabc\t880606923", "invalid rating: 'abc' is not a number"),
        ("166\t346\t1", "wrong field count: 3 fields, expected 4"),
        ("196\t242\t3\t881250949", "duplicate: same user, movie and timestamp as line 1"),
        ("298\t474\t4\t-5", "invalid timestamp: -5 is not after 1970-01-01"),
        ("x\t474\t4\t884182806", "invalid user id: 'x' is not a positive integer"),
        ("253\t0\t5\t891628467", "invalid movie id: '0' is not a positive integer"),
        ("305\t451\t3.5\t886324817", "rating off scale: 3.5 is not a multiple of 1"),
        ("6\t86\t3\t88339.5", "invalid timestamp: '88339.5' is not whole seconds"),
        ("200\t242\t4\t99999999999999", "invalid timestamp: 99999999999999 is after 9999-12-31"),
    ]
    assert result.reasons() == {
        "invalid timestamp": 3,
        "rating out of range": 1,
        "invalid rating": 1,
        "wrong field count": 1,
        "duplicate": 1,
        "invalid user id": 1,
        "invalid movie id": 1,
        "rating off scale": 1,
    }
    assert result.normalised == {MOVIELENS_ID_NOTE: 4}


def test_ml100k_movies_decode_latin1_titles_and_flag_genres(tmp_path: Path) -> None:
    movies = load_movielens(ml100k(tmp_path)).extras["movies"]
    assert movies.schema == pl.Schema(
        {
            "movie_id": pl.Int64,
            "movielens_id": pl.Int64,
            "title": pl.String,
            "genres": pl.List(pl.String),
            "year": pl.Int64,
        }
    )
    assert movies.rows() == [
        (242, 242, "Kolya (1996)", ["Comedy"], 1996),
        (302, 302, "L.A. Confidential (1997)", ["Crime", "Film-Noir", "Mystery", "Thriller"], 1997),
        (257, 257, "Amélie", ["Comedy", "Romance"], 2001),  # year from the release date
        (377, 377, "Café au lait (1993)", ["Comedy"], 1993),
        (267, 267, "unknown", ["unknown"], None),
    ]


def test_ml100k_item_resaved_as_utf8_is_not_double_decoded(tmp_path: Path) -> None:
    movies = load_movielens(ml100k(tmp_path, item_encoding="utf-8")).extras["movies"]
    assert movies["title"].to_list()[2:4] == ["Amélie", "Café au lait (1993)"]


def test_ml100k_users(tmp_path: Path) -> None:
    users = load_movielens(ml100k(tmp_path)).extras["users"]
    assert users.schema == pl.Schema(
        {
            "user_id": pl.Int64,
            "age": pl.Int64,
            "gender": pl.String,
            "occupation": pl.String,
            "zip_code": pl.String,
        }
    )
    assert users.rows() == [
        (196, 49, "M", "writer", "55105"),
        (186, 39, "F", "executive", "00000"),
        (22, 25, "M", "writer", "E2A4H"),
    ]
    assert "links" not in load_movielens(tmp_path).extras


def test_ml_latest_ratings_join_tmdb_ids_and_every_rule_quarantined(tmp_path: Path) -> None:
    root = ml_latest(tmp_path / "ml-latest-small")
    result = load_movielens(root)

    assert_well_formed(result, root / "ratings.csv", data_rows=17)
    expected = ratings(
        [
            (1, 862, 4.0, 964982703),
            (1, 15602, 4.0, 964981247),
            (1, 862, 3.5, 964982704),
            (3, 194, 0.5, 1147880044),
            (5, 11, 4.0, 964982703),
        ]
    )
    assert_frame_equal(result.accepted, expected)
    assert quarantine(result) == [
        ("1,2,7.0,964982224", "rating out of range: 7.0 not in [0.5, 5]"),
        ("1,6,abc,964982400", "invalid rating: 'abc' is not a number"),
        ("1,47,5.0", "wrong field count: 3 fields, expected 4"),
        ("2,4,3.0,835355493", "no tmdbId: movieId 4 has no TMDB id in links.csv"),
        ("2,999,3.0,835355493", "no tmdbId: movieId 999 is not in links.csv"),
        ("1,1,4.0,964982703", "duplicate: same user, movie and timestamp as line 2"),
        ("3,6,2.3,1147880044", "rating off scale: 2.3 is not a multiple of 0.5"),
        ("3,2,0,1147880044", "rating out of range: 0.0 not in [0.5, 5]"),
        ("4,1,4.0,0", "invalid timestamp: 0 is not after 1970-01-01"),
        ("5,8,4.0,964982703", "duplicate: same user, movie and timestamp as line 15"),
        ("6,1,nan,964982703", "invalid rating: 'nan' is not a number"),
        ("7,,4.0,964982703", "invalid movie id: '' is not a positive integer"),
    ]
    assert result.reasons() == {
        "rating out of range": 2,
        "invalid rating": 2,
        "no tmdbId": 2,
        "duplicate": 2,
        "wrong field count": 1,
        "rating off scale": 1,
        "invalid timestamp": 1,
        "invalid movie id": 1,
    }
    assert result.normalised == {}


def test_ml_latest_movies_and_links(tmp_path: Path) -> None:
    extras = load_movielens(ml_latest(tmp_path)).extras
    assert extras["movies"].rows() == [
        (
            862,
            1,
            "Toy Story (1995)",
            ["Adventure", "Animation", "Children", "Comedy", "Fantasy"],
            1995,
        ),
        (15602, 3, "Grumpier Old Men, The (1995)", ["Comedy", "Romance"], 1995),
        (None, 4, '"Great Performances" Cats (1998)', ["Musical"], 1998),
        (
            194,
            5,
            "Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)",
            ["Comedy", "Romance"],
            2001,
        ),
        (11, 7, "Star Wars: Episode IV - A New Hope (1977)", [], 1977),
        (11, 8, "Fawlty Towers (1975-1979)", ["Comedy"], 1975),
        (None, 9, 'Dr. Strangelove, or "The Bomb" (1964)', ["Comedy", "War"], 1964),
    ]
    links = extras["links"]
    assert links.schema == pl.Schema(
        {"movielens_id": pl.Int64, "imdb_id": pl.String, "tmdb_id": pl.Int64}
    )
    assert links.row(0) == (1, "tt0114709", 862)
    assert links.row(3) == (4, "tt0114885", None)
    assert "users" not in extras


def test_ml_latest_without_links_keeps_movielens_ids_and_says_so(tmp_path: Path) -> None:
    result = load_movielens(ml_latest(tmp_path, links=False))
    assert result.accepted_count + result.quarantined_count == 17
    assert result.normalised == {MOVIELENS_ID_NOTE: 8}
    assert result.accepted["movie_id"].to_list() == [1, 3, 4, 999, 1, 5, 7, 8]
    assert "no tmdbId" not in result.reasons()
    assert "links" not in result.extras
    assert result.extras["movies"]["movie_id"].to_list() == [1, 3, 4, 5, 7, 8, 9]


def test_ratings_file_path_crlf_bom_and_padded_fields(tmp_path: Path) -> None:
    ml_latest(tmp_path)
    text = "\ufeffuserId,movieId,rating,timestamp\r\n 1 , 1 ,4.5, 964982703\r\n\r\n2,3,1,5\r\n"
    (tmp_path / "ratings.csv").write_text(text, encoding="utf-8", newline="")
    result = load_movielens(tmp_path / "ratings.csv")
    assert_frame_equal(result.accepted, ratings([(1, 862, 4.5, 964982703), (2, 15602, 1.0, 5)]))
    assert result.quarantined_count == 0


def test_a_header_only_ratings_file_loads_nothing(tmp_path: Path) -> None:
    write(tmp_path / "ratings.csv", ["userId,movieId,rating,timestamp", ""])
    result = load_movielens(tmp_path)
    assert (result.accepted_count, result.quarantined_count, result.normalised) == (0, 0, {})
    assert result.extras == {}


def test_flavour_detection_errors(tmp_path: Path) -> None:
    with pytest.raises(CinefeatError, match="does not exist"):
        load_movielens(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CinefeatError) as caught:
        load_movielens(empty)
    message = str(caught.value)
    assert f"{empty} is not a MovieLens directory" in message
    assert "u.data (with u.item, u.user) for ml-100k" in message
    assert "ratings.csv (with movies.csv, links.csv) for ml-latest" in message
    ml100k(tmp_path / "ml-100k")
    with pytest.raises(CinefeatError, match=r"MovieLens directories inside it: .*ml-100k"):
        load_movielens(tmp_path)
    with pytest.raises(CinefeatError, match="u.item is not a MovieLens ratings file"):
        load_movielens(tmp_path / "ml-100k" / "u.item")
    write(tmp_path / "ml-100k" / "ratings.csv", RATINGS_CSV)
    with pytest.raises(CinefeatError, match="holds both u.data .* and ratings.csv"):
        load_movielens(tmp_path / "ml-100k")
    assert load_movielens(tmp_path / "ml-100k" / "u.data").accepted_count == 4


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "ratings.csv",
            b"userId,movieId,rating,timestamp\n1,1,4,5\n1,2,4,5 caf\xe9\n",
            r"ratings.csv: not UTF-8 text \(line 3, byte 51: invalid continuation byte\)",
        ),
        (
            "u.data",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            r"u.data: not a text file \(a NUL byte on line 3\)",
        ),
        (
            "ratings.csv",
            b"user,movie,rating,time\n1,1,4,5\n",
            "ratings.csv line 1: expected the header 'userId,movieId,rating,timestamp', "
            "found 'user,movie,rating,time'",
        ),
        ("ratings.csv", b"", "ratings.csv line 1: expected the header .* found None"),
    ],
    ids=["latin-1 in a UTF-8 file", "binary", "wrong header", "empty"],
)
def test_unreadable_ratings_files_name_the_file_and_line(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(CinefeatError, match=message):
        load_movielens(tmp_path)


@pytest.mark.parametrize(
    ("name", "lines", "message"),
    [
        (
            "links.csv",
            ["movieId,imdbId,tmdbId", "1,0114709,862", "2,0113497,abc"],
            "links.csv line 3: tmdbId 'abc' is not a positive integer or empty",
        ),
        (
            "links.csv",
            ["movieId,imdbId,tmdbId", "1,0114709,862", "1,0114709,863"],
            "links.csv line 3: movieId 1 repeats line 2",
        ),
        (
            "links.csv",
            ["movieId,imdbId,tmdbId", "1,tt0114709,862"],
            "links.csv line 2: imdbId 'tt0114709' is not digits",
        ),
        (
            "movies.csv",
            ["movieId,title,genres", "1,Toy Story (1995)"],
            "movies.csv line 2: not movieId,title,genres",
        ),
        (
            "movies.csv",
            ["movieId,title,genres", "one,Toy Story (1995),Comedy"],
            "movies.csv line 2: movieId 'one' is not a positive integer",
        ),
        (
            "u.item",
            ["1|Toy Story (1995)|01-Jan-1995||http://x"],
            "u.item line 1: 5 fields, expected 24",
        ),
        (
            "u.item",
            ["1|Toy Story (1995)|01-Jan-1995||http://x" + "|2" * 19],
            "u.item line 1: genre flags must be 0 or 1",
        ),
        (
            "u.user",
            ["1|24|M|technician|85711", "2|old|F|other|94043"],
            "u.user line 2: age 'old' is not a whole number of years",
        ),
    ],
    ids=[
        "tmdbId",
        "repeated movieId",
        "imdbId",
        "movies field count",
        "movieId",
        "u.item field count",
        "genre flag",
        "age",
    ],
)
def test_malformed_reference_files_name_the_file_and_line(
    tmp_path: Path, name: str, lines: list[str], message: str
) -> None:
    (ml100k if name.startswith("u.") else ml_latest)(tmp_path)
    write(tmp_path / name, lines)
    with pytest.raises(CinefeatError, match=message):
        load_movielens(tmp_path)
