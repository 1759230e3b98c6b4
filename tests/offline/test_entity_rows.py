"""Entity rows that are unusual but legitimate: null times, categorical and view-typed keys."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from cinefeat import FeatureStore
from tests.helpers import at


@pytest.fixture
def written(applied: FeatureStore) -> FeatureStore:
    frame = pd.DataFrame(
        {
            "movie_id": [1, 1],
            "title": ["old", "new"],
            "rating_count": [1, 2],
            "event_timestamp": [at(1), at(5)],
        }
    )
    applied.write_offline("movie_stats", frame)
    return applied


def test_a_row_without_a_time_gets_nulls_not_the_latest_value(written: FeatureStore) -> None:
    # movie_stats has no ttl: a NULL time must not match the newest row (that leaks the future).
    entity = pd.DataFrame({"movie_id": [1, 1], "event_timestamp": [at(3), pd.NaT]})
    entity["event_timestamp"] = entity["event_timestamp"].astype("datetime64[us, UTC]")
    result = written.get_historical_features(entity, ["movie_stats:title"]).to_arrow()
    assert result.column("title").to_pylist() == ["old", None]


def test_categorical_and_view_typed_keys(store: FeatureStore) -> None:
    from cinefeat import Entity, FeatureView, Field
    from cinefeat.types import Int64, String

    view = FeatureView(
        "by_country",
        [Entity("country", ["country"])],
        [Field("country", String), Field("n", Int64)],
    )
    store.apply([view])
    store.write_offline(
        "by_country",
        pd.DataFrame({"country": ["fr", "kr"], "n": [1, 2], "event_timestamp": [at(1), at(1)]}),
    )
    categorical = pd.DataFrame(
        {"country": pd.Categorical(["kr", "fr", "us"]), "event_timestamp": [at(2)] * 3}
    )
    result = store.get_historical_features(categorical, ["by_country:n"]).to_arrow()
    assert result.column("n").to_pylist() == [2, 1, None]
    viewed = pa.table(
        {
            "country": pa.array(["kr", "fr"], pa.string_view()),
            "event_timestamp": pa.array([at(2)] * 2, pa.timestamp("us", "UTC")),
        }
    )
    result = store.get_historical_features(viewed, ["by_country:n"]).to_arrow()
    assert result.column("n").to_pylist() == [2, 1]
