"""FileSource files are checked against the view: nothing is silently cast or rounded."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cinefeat import Entity, FeatureStore, FeatureView, Field, FileSource, SchemaMismatchError
from cinefeat.types import Int64
from tests.helpers import at


def file_view(path: Path, created: str | None = None) -> FeatureView:
    return FeatureView(
        "ext",
        [Entity("user", ["user_id"])],
        [Field("user_id", Int64), Field("n", Int64)],
        source=FileSource(str(path), timestamp_field="ts", created_timestamp_column=created),
    )


def entity() -> pd.DataFrame:
    return pd.DataFrame({"user_id": [1, 2], "event_timestamp": [at(5), at(5)]})


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            pd.DataFrame({"user_id": [1.9], "n": [1], "ts": [at(1)]}),
            "column 'user_id': declared Int64, the files hold double",
        ),
        (
            pd.DataFrame({"user_id": [1], "n": ["abc"], "ts": [at(1)]}),
            "column 'n': declared Int64, the files hold string",
        ),
        (
            pd.DataFrame({"user_id": [1], "n": [1], "ts": ["2024-01-01"]}),
            "column 'ts': expected a timestamp, the files hold string",
        ),
        (pd.DataFrame({"user_id": [1], "ts": [at(1)]}), r"missing column 'n' \(Int64\)"),
    ],
)
def test_mismatched_files_are_refused_by_name(
    store: FeatureStore, tmp_path: Path, frame: pd.DataFrame, message: str
) -> None:
    frame.to_parquet(tmp_path / "ext.parquet")
    store.apply([file_view(tmp_path / "ext.parquet")])
    with pytest.raises(SchemaMismatchError, match=message):
        store.get_historical_features(entity(), ["ext:n"]).to_arrow()
    with pytest.raises(SchemaMismatchError, match=message):
        store.materialize(at(0), at(9))


def test_a_declared_created_column_must_exist(store: FeatureStore, tmp_path: Path) -> None:
    pd.DataFrame({"user_id": [1], "n": [1], "ts": [at(1)]}).to_parquet(tmp_path / "ext.parquet")
    store.apply([file_view(tmp_path / "ext.parquet", created="created")])
    with pytest.raises(SchemaMismatchError, match="missing timestamp column 'created'"):
        store.get_historical_features(entity(), ["ext:n"]).to_arrow()


def test_rows_without_key_or_time_are_skipped(store: FeatureStore, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "user_id": pd.array([1, None, 2], dtype="Int64"),
            "n": [10, 99, 20],
            "ts": [at(1), at(2), None],
        }
    )
    frame.to_parquet(tmp_path / "ext.parquet")
    store.apply([file_view(tmp_path / "ext.parquet")])
    result = store.get_historical_features(entity(), ["ext:n"]).to_arrow()
    assert result.column("n").to_pylist() == [10, None]
    (materialized,) = store.materialize(at(0), at(9))
    assert (materialized.rows_read, materialized.rows_written) == (1, 1)
