"""Appends as pyarrow-written Parquet files committed as Delta add actions: one commit, exact
file statistics (never narrower than the data), and a table delta-rs reads like its own; and
files staged ahead (by pipeline workers), committed with a replacement or merged when they
replace stored rows."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from cinefeat import CinefeatError, FeatureStore, FeatureView, Field
from cinefeat.errors import SchemaMismatchError
from cinefeat.offline import StagedFiles, _append, stage_rows
from cinefeat.offline._append import append_files, file_stats
from cinefeat.types import Int64
from tests.helpers import at

# Microseconds that milliseconds cannot hold: a maximum rounded down would exclude this row.
LATE = datetime(2024, 3, 1, 12, 0, 0, 999_501, tzinfo=UTC)
EARLY = datetime(2024, 3, 1, 8, 30, 0, 250_700, tzinfo=UTC)


def sample() -> pa.Table:
    return pa.table(
        {
            "movie_id": pa.array([3, 1, None, 7], pa.int64()),
            "score": pa.array([0.5, -2.0, 1.5, None], pa.float64()),
            "odd": pa.array([1.0, float("nan"), 2.0, 3.0], pa.float64()),
            "title": pa.array(["b", "a", None, "c"], pa.string()),
            "genres": pa.array([[1], [], None, [2, 3]], pa.list_(pa.int64())),
            "released": pa.array([date(2020, 1, 2), None, date(1999, 5, 6), None], pa.date32()),
            "event_timestamp": pa.array([EARLY, LATE, EARLY, LATE], pa.timestamp("us", tz="UTC")),
        }
    )


def test_statistics_are_exact_or_left_out() -> None:
    stats = json.loads(file_stats(sample()))
    assert stats["numRecords"] == 4
    assert stats["minValues"] == {
        "movie_id": 1,
        "score": -2.0,
        "released": "1999-05-06",
        "event_timestamp": "2024-03-01T08:30:00.250Z",  # rounded down
    }
    assert stats["maxValues"] == {
        "movie_id": 7,
        "score": 1.5,
        "released": "2020-01-02",
        "event_timestamp": "2024-03-01T12:00:01.000Z",  # rounded up, across the second
    }
    # NaN has no JSON form and strings may be truncated: no bounds; nested columns: no stats.
    assert stats["nullCount"] == {
        "movie_id": 1,
        "score": 1,
        "odd": 0,
        "title": 1,
        "released": 2,
        "event_timestamp": 0,
    }


def test_an_all_null_column_has_a_null_count_only() -> None:
    stats = json.loads(file_stats(pa.table({"x": pa.nulls(3, pa.int64())})))
    assert stats == {"numRecords": 3, "minValues": {}, "maxValues": {}, "nullCount": {"x": 3}}


def test_append_creates_then_extends_the_table_one_commit_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_append, "ROWS_PER_FILE", 3)  # 4 rows: two files in one commit
    path = tmp_path / "t"
    append_files(path, None, sample(), name="t", description="a table")
    table = DeltaTable(str(path))
    assert table.version() == 0
    assert len(table.file_uris()) == 2
    assert table.metadata().name == "t" and table.metadata().description == "a table"
    append_files(path, table, sample().slice(0, 1), name="t", description=None)
    table = DeltaTable(str(path))
    assert table.version() == 1
    assert len(table.file_uris()) == 3
    read = pl.from_arrow(table.to_pyarrow_table())
    assert isinstance(read, pl.DataFrame)
    expected = pl.from_arrow(pa.concat_tables([sample(), sample().slice(0, 1)]))
    assert isinstance(expected, pl.DataFrame)
    assert read.sort("movie_id", "event_timestamp", nulls_last=True).equals(
        expected.sort("movie_id", "event_timestamp", nulls_last=True)
    )


def test_schema_and_statistics_match_delta_rs_own_writer(tmp_path: Path) -> None:
    append_files(tmp_path / "ours", None, sample(), name="t", description=None)
    write_deltalake(str(tmp_path / "theirs"), sample())
    ours, theirs = DeltaTable(str(tmp_path / "ours")), DeltaTable(str(tmp_path / "theirs"))
    assert ours.schema() == theirs.schema()
    our_stats = pl.from_arrow(pa.table(ours.get_add_actions(flatten=True)))
    assert isinstance(our_stats, pl.DataFrame)
    # delta-rs parses our statistics back to typed values.
    assert our_stats["min.movie_id"].to_list() == [1]
    assert our_stats["max.event_timestamp"].to_list() == [
        datetime(2024, 3, 1, 12, 0, 1, tzinfo=UTC)
    ]
    assert our_stats["null_count.title"].to_list() == [1]


def test_a_replacement_finds_appended_rows_by_their_microsecond_times(
    applied: FeatureStore,
) -> None:
    """Rows appended as files are replaced by identity like any others (a row stored twice
    here would mean the MERGE missed the appended file)."""
    row = {"movie_id": [1], "title": ["a"], "rating_count": [1], "event_timestamp": [LATE]}
    applied.write_offline("movie_stats", pl.DataFrame(row))
    applied.write_offline(
        "movie_stats",
        pl.DataFrame(
            {"movie_id": [2], "title": ["b"], "rating_count": [2], "event_timestamp": [at(0)]}
        ),
    )
    new = pl.DataFrame({**row, "rating_count": [9]})
    result = applied.replace_offline("movie_stats", new, lambda ids: ids.clear())
    assert (result.inserted, result.updated, result.deleted) == (0, 1, 0)
    stored = pl.from_arrow(applied.read_offline("movie_stats"))
    assert isinstance(stored, pl.DataFrame)
    assert stored.sort("movie_id").select("movie_id", "rating_count").rows() == [(1, 9), (2, 2)]


def movie_rows(*rows: tuple[int, str, int, datetime]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "movie_id": pl.Int64,
            "title": pl.String,
            "rating_count": pl.Int64,
            "event_timestamp": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )


def stored_rows(store: FeatureStore) -> list[tuple[object, ...]]:
    frame = pl.from_arrow(store.read_offline("movie_stats"))
    assert isinstance(frame, pl.DataFrame)
    columns = ["movie_id", "event_timestamp", "title", "rating_count"]
    return frame.select(columns).sort(columns[:2]).rows()


def staged(store: FeatureStore, rows: pl.DataFrame) -> StagedFiles:
    view = store.get_feature_view("movie_stats")
    return stage_rows(view, store.offline_store.root, rows.to_arrow(), stem=str(rows.height))


def test_staged_files_are_committed_as_written_with_the_other_rows(
    applied: FeatureStore,
) -> None:
    ahead = staged(applied, movie_rows((1, "a", 1, at(0)), (2, "b", 2, at(0))))
    view = applied.get_feature_view("movie_stats")
    table = applied.offline_store.table_path(view)
    assert ahead.rows == 2 and not (table / "_delta_log").exists()  # written, not committed
    result = applied.replace_offline(
        "movie_stats", movie_rows((3, "c", 3, at(1))), lambda ids: ids.clear(), [ahead]
    )
    assert (result.inserted, result.updated, result.deleted, result.delta_version) == (3, 0, 0, 0)
    committed = {Path(uri).name for uri in DeltaTable(str(table)).file_uris()}
    assert {f["path"] for f in ahead.files} <= committed  # the very files, not rewritten
    assert stored_rows(applied) == [(1, at(0), "a", 1), (2, at(0), "b", 2), (3, at(1), "c", 3)]


def test_staged_rows_that_replace_stored_ones_go_through_the_merge(
    applied: FeatureStore,
) -> None:
    applied.write_offline("movie_stats", movie_rows((1, "a", 1, at(0)), (2, "b", 2, at(0))))
    ahead = staged(applied, movie_rows((1, "A", 10, at(0))))
    day0 = at(0)
    result = applied.replace_offline(
        "movie_stats",
        movie_rows((4, "d", 4, at(0))),
        lambda ids: ids.filter(pl.col("event_timestamp") == day0),
        [ahead],
    )
    assert (result.inserted, result.updated, result.deleted) == (1, 1, 1)  # 2 left the snapshot
    assert stored_rows(applied) == [(1, at(0), "A", 10), (4, at(0), "d", 4)]
    # The staged file was read into the MERGE, never committed: it is gone, not left behind.
    assert not any(path.exists() for path in ahead.paths(applied.offline_store.root))


def test_an_identity_given_twice_across_staged_files_writes_nothing(
    applied: FeatureStore,
) -> None:
    applied.write_offline("movie_stats", movie_rows((9, "z", 9, at(0))))
    ahead = staged(applied, movie_rows((1, "a", 1, at(0))))
    with pytest.raises(SchemaMismatchError, match="share their join keys and event time"):
        applied.replace_offline(
            "movie_stats", movie_rows((1, "b", 2, at(0))), lambda ids: ids.clear(), [ahead]
        )
    assert stored_rows(applied) == [(9, at(0), "z", 9)]
    assert version_of(applied) == 0


def version_of(store: FeatureStore) -> int | None:
    return store.offline_store.current_version(store.get_feature_view("movie_stats"))


def test_files_staged_for_another_table_are_refused(applied: FeatureStore) -> None:
    ahead = staged(applied, movie_rows((1, "a", 1, at(0))))
    # A breaking change (a feature's type) moves the view to a new table, movie_stats__v2.
    view = applied.get_feature_view("movie_stats")
    changed = FeatureView(
        "movie_stats",
        list(view.entities),
        [Field("movie_id", Int64), Field("title", Int64), Field("rating_count", Int64)],
    )
    applied.apply([changed])
    with pytest.raises(CinefeatError, match=r"stored in movie_stats__v2, but files were staged"):
        empty = {c: pl.Int64 for c in ("movie_id", "title", "rating_count")}
        rows = pl.DataFrame(schema={**empty, "event_timestamp": pl.Datetime("us", "UTC")})
        applied.replace_offline("movie_stats", rows, lambda ids: ids.clear(), [ahead])


def test_gone_staged_files_are_refused(applied: FeatureStore) -> None:
    ahead = staged(applied, movie_rows((1, "a", 1, at(0))))
    for path in ahead.paths(applied.offline_store.root):
        path.unlink()
    with pytest.raises(CinefeatError, match="staged file"):
        applied.replace_offline("movie_stats", movie_rows(), lambda ids: ids.clear(), [ahead])
    assert version_of(applied) is None  # nothing was committed


def test_times_outside_iso_years_get_no_bounds_and_still_write(tmp_path: Path) -> None:
    ends = pa.array(
        [datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), datetime(5, 1, 2, tzinfo=UTC)],
        pa.timestamp("us", tz="UTC"),
    )
    stats = json.loads(file_stats(pa.table({"until": ends})))
    assert stats["minValues"] == {} and stats["maxValues"] == {}  # 10000-01-01 has no form
    early = json.loads(file_stats(pa.table({"at": ends.slice(1)})))
    assert early["minValues"] == {"at": "0005-01-02T00:00:00.000Z"}  # four-digit years
    append_files(tmp_path / "t", None, pa.table({"until": ends}), name="t", description=None)
    assert DeltaTable(str(tmp_path / "t")).to_pyarrow_table().num_rows == 2
