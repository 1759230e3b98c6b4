"""write_offline: one atomic Delta commit of schema-checked rows; bad data writes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from cinefeat import CinefeatError, Entity, FeatureStore, FeatureView, Field, FileSource
from cinefeat.errors import FeatureNotFoundError, SchemaMismatchError
from cinefeat.types import Float64, Int64, String
from tests.helpers import at


def rows(**overrides: object) -> pd.DataFrame:
    data: dict[str, object] = {
        "user_id": [1, 2],
        "rating_count": [3, 4],
        "avg_rating": [3.5, 4.0],
        "genres": [[18], []],
        "event_timestamp": [at(0), at(1)],
    }
    data.update(overrides)
    return pd.DataFrame(data)


def test_frames_of_every_kind_are_written_and_read_back(applied: FeatureStore) -> None:
    frame = rows()
    first = applied.write_offline("user_stats", frame)
    second = applied.write_offline("user_stats", pl.from_pandas(frame))
    third = applied.write_offline("user_stats", pa.Table.from_pandas(frame))
    assert (first.delta_version, second.delta_version, third.delta_version) == (0, 1, 2)
    table = applied.read_offline("user_stats")
    assert table.num_rows == 6
    assert table.column("rating_count").to_pylist() == [3, 4] * 3
    assert table.column("genres").to_pylist() == [[18], []] * 3
    assert str(table.schema.field("event_timestamp").type) == "timestamp[us, tz=UTC]"
    created = table.column("created_timestamp")
    assert created.null_count == 0  # filled with the write time


def test_widening_casts_are_accepted(applied: FeatureStore) -> None:
    naive = [datetime(2024, 1, 1), datetime(2024, 1, 2)]
    frame = rows(event_timestamp=naive).astype({"user_id": "int32", "avg_rating": "float32"})
    frame["rating_count"] = frame["rating_count"].astype("uint16")
    applied.write_offline("user_stats", frame)
    table = applied.read_offline("user_stats")
    assert table.column("event_timestamp").to_pylist() == [at(0), at(1)]  # naive means UTC
    assert table.column("user_id").type == pa.int64()


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (rows().drop(columns=["avg_rating"]), "missing column 'avg_rating' (Float64)"),
        (rows(extra=[1, 2]), "unexpected column 'extra'"),
        (rows(rating_count=["3", "4"]), "column 'rating_count': expected Int64, got string"),
        (rows(avg_rating=["a", "b"]), "column 'avg_rating': expected Float64, got string"),
        (rows(rating_count=[1.5, 2.0]), "column 'rating_count': expected Int64, got double"),
        (rows(user_id=[1, None]), "column 'user_id': 1 null value(s), first at row 1"),
        (rows(event_timestamp=[at(0), None]), "column 'event_timestamp': 1 null value(s)"),
        (
            rows(event_timestamp=["2024-01-01", "x"]),
            "column 'event_timestamp': expected a timestamp",
        ),
        (rows(genres=[1, 2]), "column 'genres': expected Array(Int64), got int64"),
    ],
)
def test_mismatched_data_is_refused_and_nothing_is_written(
    applied: FeatureStore, frame: pd.DataFrame, message: str
) -> None:
    applied.write_offline("user_stats", rows())
    view = applied.get_feature_view("user_stats")
    version = applied.offline_store.current_version(view)
    with pytest.raises(SchemaMismatchError) as error:
        applied.write_offline("user_stats", frame)
    assert message in str(error.value)
    assert "nothing was written" in str(error.value)
    assert applied.offline_store.current_version(view) == version
    assert applied.read_offline("user_stats").num_rows == 2


def test_every_problem_is_listed_at_once(applied: FeatureStore) -> None:
    frame = rows(extra=[1, 2], rating_count=["a", "b"]).drop(columns=["avg_rating"])
    with pytest.raises(SchemaMismatchError) as error:
        applied.write_offline("user_stats", frame)
    text = str(error.value)
    for problem in ("missing column 'avg_rating'", "unexpected column 'extra'", "'rating_count'"):
        assert problem in text


def test_out_of_range_unsigned_values_are_refused(store: FeatureStore) -> None:
    view = FeatureView(
        "v", [Entity("user", ["user_id"])], [Field("user_id", Int64), Field("n", Int64)]
    )
    store.apply([view])
    frame = pa.table(
        {
            "user_id": pa.array([1], pa.int64()),
            "n": pa.array([2**63 + 5], pa.uint64()),
            "event_timestamp": pa.array([at(0)], pa.timestamp("us", "UTC")),
        }
    )
    with pytest.raises(SchemaMismatchError, match="column 'n': expected Int64, got uint64"):
        store.write_offline("v", frame)


def test_empty_frame_commits_nothing(applied: FeatureStore) -> None:
    result = applied.write_offline("user_stats", rows().iloc[:0])
    assert (result.rows, result.delta_version) == (0, None)


def test_pinned_delta_version_reads_old_data(applied: FeatureStore) -> None:
    applied.write_offline("user_stats", rows())
    applied.write_offline("user_stats", rows(rating_count=[30, 40]))
    assert applied.read_offline("user_stats", 0).column("rating_count").to_pylist() == [3, 4]
    assert applied.read_offline("user_stats").num_rows == 4
    with pytest.raises(FeatureNotFoundError, match="Delta version 7"):
        applied.read_offline("user_stats", 7)


def test_added_field_extends_the_table_in_place(applied: FeatureStore, user: Entity) -> None:
    applied.write_offline("user_stats", rows())
    view = applied.get_feature_view("user_stats")
    wider = FeatureView(
        "user_stats", [user], [*view.schema, Field("country", String)], ttl=view.ttl
    )
    diff = applied.apply([wider])
    assert not diff.breaking and applied.get_feature_view("user_stats").version == 1
    applied.write_offline("user_stats", rows(country=["fr", "kr"]))
    table = applied.read_offline("user_stats").sort_by("created_timestamp")
    assert table.column("country").to_pylist() == [None, None, "fr", "kr"]


def test_breaking_change_writes_a_new_table(applied: FeatureStore, user: Entity) -> None:
    applied.write_offline("user_stats", rows())
    v2 = FeatureView(
        "user_stats",
        [user],
        [Field("user_id", Int64), Field("rating_count", Float64)],
        ttl=timedelta(days=2),
    )
    applied.apply([v2])
    new_rows = rows()[["user_id", "event_timestamp"]].assign(rating_count=0.5)
    applied.write_offline("user_stats", new_rows)
    assert applied.read_offline("user_stats").column("rating_count").to_pylist() == [0.5, 0.5]
    old = applied.get_feature_view("user_stats", 1)
    assert applied.read_offline(old).column("rating_count").to_pylist() == [3, 4]


def test_file_source_views_are_read_only(store: FeatureStore, tmp_path: Path) -> None:
    view = FeatureView(
        "ext",
        [Entity("user", ["user_id"])],
        [Field("user_id", Int64), Field("x", Int64)],
        source=FileSource(str(tmp_path / "ext.parquet")),
    )
    store.apply([view])
    with pytest.raises(CinefeatError, match="reads the FileSource"):
        store.write_offline("ext", rows())
