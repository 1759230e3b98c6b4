"""Online reads: values, event times and statuses as Feast has them; versions; bad input."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from cinefeat import (
    Entity,
    EntityDataFrameError,
    FeatureNameCollisionError,
    FeatureStore,
    FeatureView,
    Field,
)
from cinefeat.errors import FeatureNotFoundError
from cinefeat.online import FieldStatus
from cinefeat.types import Array, Bool, Float32, Float64, Int64, String, UnixTimestamp

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def typed(store: FeatureStore) -> FeatureStore:
    pair = Entity("pair", ["user_id", "title_key"])
    view = FeatureView(
        "typed",
        [pair],
        [
            Field("user_id", Int64),
            Field("title_key", String),
            Field("f64", Float64),
            Field("f32", Float32),
            Field("flag", Bool),
            Field("title", String),
            Field("genres", Array(Int64)),
            Field("seen_at", UnixTimestamp),
        ],
        ttl=timedelta(days=1),
    )
    store.apply([view])
    frame = pd.DataFrame(
        {
            "user_id": [1, 2, 3],
            "title_key": ["a", "a", "b"],
            "f64": [1.5, math.nan, None],
            "f32": [0.25, 1.0, 2.0],
            "flag": [True, False, True],
            "title": ["기생충", "Амели", None],
            "genres": [[18, 35], [], None],
            "seen_at": [NOW - timedelta(hours=1), NOW, NOW],
            "event_timestamp": [NOW - timedelta(hours=1), NOW, NOW - timedelta(days=3)],
        }
    ).astype({"f32": "float32"})
    store.push("typed", frame)
    return store


def test_values_types_statuses_and_timestamps(typed: FeatureStore) -> None:
    features = [f"typed:{f}" for f in ("f64", "f32", "flag", "title", "genres", "seen_at")]
    rows = [
        {"user_id": 1, "title_key": "a"},
        {"user_id": 2, "title_key": "a"},
        {"user_id": 3, "title_key": "b"},  # older than the 1-day ttl
        {"user_id": 1, "title_key": "zzz"},  # unknown
    ]
    response = typed.get_online_features(features, rows)
    # pandas NaN means missing (pyarrow.from_pandas reads it as null), so it is a null here.
    assert response.values["f64"][:2] == [1.5, None]
    assert response.statuses["f64"][:2] == [FieldStatus.PRESENT, FieldStatus.NULL_VALUE]
    assert response.values["f32"][:2] == [0.25, 1.0]
    assert response.values["flag"][:2] == [True, False]
    assert response.values["title"][:2] == ["기생충", "Амели"]
    assert response.values["genres"][:2] == [[18, 35], []]
    assert response.values["seen_at"][:2] == [NOW - timedelta(hours=1), NOW]
    assert response.statuses["title"] == [
        FieldStatus.PRESENT,
        FieldStatus.PRESENT,
        FieldStatus.OUTSIDE_MAX_AGE,
        FieldStatus.NOT_FOUND,
    ]
    assert response.values["title"][2:] == [None, None]
    assert response.event_timestamps["flag"] == [
        NOW - timedelta(hours=1),
        NOW,
        NOW - timedelta(days=3),
        None,
    ]
    as_dict = response.to_dict()
    assert list(as_dict) == ["user_id", "title_key", *[f.split(":")[1] for f in features]]
    assert as_dict["user_id"] == [1, 2, 3, 1]
    assert response.to_df().shape == (4, 8)
    assert "title__ts" in response.to_dict(include_event_timestamps=True)


def test_nan_and_infinity_from_arrow_are_kept(typed: FeatureStore) -> None:
    import pyarrow as pa

    view = typed.get_feature_view("typed")
    table = pa.table(
        {
            "user_id": [7, 8],
            "title_key": ["x", "x"],
            "f64": [math.nan, -math.inf],
            "f32": pa.array([math.inf, 1.0], pa.float32()),
            "flag": [True, True],
            "title": ["t", "t"],
            "genres": [[1], [2]],
            "seen_at": pa.array([NOW, NOW], pa.timestamp("us", "UTC")),
            "event_timestamp": pa.array([NOW, NOW], pa.timestamp("us", "UTC")),
        }
    )
    typed.push(view, table)
    rows = [{"user_id": 7, "title_key": "x"}, {"user_id": 8, "title_key": "x"}]
    response = typed.get_online_features(["typed:f64", "typed:f32"], rows)
    assert math.isnan(response.values["f64"][0]) and response.values["f64"][1] == -math.inf
    assert response.values["f32"] == [math.inf, 1.0]
    assert response.statuses["f64"] == [FieldStatus.PRESENT, FieldStatus.PRESENT]


def test_null_values_have_their_own_status(typed: FeatureStore) -> None:
    typed.push(
        "typed",
        pd.DataFrame(
            {
                "user_id": [9],
                "title_key": ["n"],
                "f64": [None],
                "f32": [None],
                "flag": [None],
                "title": [None],
                "genres": [None],
                "seen_at": [None],
                "event_timestamp": [NOW],
            }
        ),
    )
    response = typed.get_online_features(
        ["typed:title", "typed:genres"], [{"user_id": 9, "title_key": "n"}]
    )
    assert response.values == {"title": [None], "genres": [None]}
    assert response.statuses["title"] == [FieldStatus.NULL_VALUE]


def test_full_feature_names_and_collisions(applied: FeatureStore) -> None:
    refs = ["user_stats:rating_count", "movie_stats:rating_count"]
    with pytest.raises(FeatureNameCollisionError, match="pass full_feature_names=True"):
        applied.get_online_features(refs, [{"user_id": 1, "movie_id": 2}])
    response = applied.get_online_features(refs, [{"user_id": 1, "movie_id": 2}], True)
    assert response.feature_names == ["user_stats__rating_count", "movie_stats__rating_count"]


def test_a_feature_service_by_object_or_name(applied: FeatureStore) -> None:
    row = [{"user_id": 1, "movie_id": 2}]
    by_name = applied.get_online_features("ranker", row)
    by_object = applied.get_online_features(applied.get_feature_service("ranker"), row)
    assert by_name.feature_names == by_object.feature_names == ["rating_count", "title"]


@pytest.mark.parametrize(
    ("features", "rows", "error", "message"),
    [
        (["nope:x"], [{"user_id": 1}], FeatureNotFoundError, "feature view 'nope'"),
        (["user_stats:nope"], [{"user_id": 1}], FeatureNotFoundError, "has no feature 'nope'"),
        (["user_stats@v7:rating_count"], [{"user_id": 1}], FeatureNotFoundError, "no version v7"),
        (["user_stats:rating_count"], [{"movie_id": 1}], EntityDataFrameError, "has no 'user_id'"),
        (
            ["user_stats:rating_count"],
            [{"user_id": "1"}],
            EntityDataFrameError,
            "must be an integer",
        ),
        (
            ["user_stats:rating_count"],
            [{"user_id": True}],
            EntityDataFrameError,
            "must be an integer",
        ),
        (["movie_stats:title"], [{"movie_id": 1.5}], EntityDataFrameError, "must be an integer"),
        ("no_such_service", [{"user_id": 1}], FeatureNotFoundError, "feature service"),
    ],
)
def test_bad_requests_name_the_problem(
    applied: FeatureStore,
    features: object,
    rows: list[dict[str, object]],
    error: type,
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        applied.get_online_features(features, rows)  # type: ignore[arg-type]


def test_offline_only_views_are_refused_online(store: FeatureStore) -> None:
    from cinefeat import CinefeatError

    view = FeatureView(
        "hist",
        [Entity("user", ["user_id"])],
        [Field("user_id", Int64), Field("n", Int64)],
        online=False,
    )
    store.apply([view])
    with pytest.raises(CinefeatError, match=r"\['hist'\] are offline only"):
        store.get_online_features(["hist:n"], [{"user_id": 1}])


def test_numpy_integer_keys_work(applied: FeatureStore) -> None:
    import numpy as np

    applied.push(
        "movie_stats",
        pd.DataFrame(
            {"movie_id": [5], "title": ["Heat"], "rating_count": [1], "event_timestamp": [NOW]}
        ),
    )
    response = applied.get_online_features(["movie_stats:title"], [{"movie_id": np.int64(5)}])
    assert response.values["title"] == ["Heat"]


def test_earlier_versions_stay_readable_online(applied: FeatureStore, movie: Entity) -> None:
    applied.push(
        "movie_stats",
        pd.DataFrame(
            {"movie_id": [5], "title": ["Heat"], "rating_count": [1], "event_timestamp": [NOW]}
        ),
    )
    v2 = FeatureView("movie_stats", [movie], [Field("movie_id", Int64), Field("title", Int64)])
    assert applied.apply([v2]).breaking
    applied.push(
        "movie_stats", pd.DataFrame({"movie_id": [5], "title": [42], "event_timestamp": [NOW]})
    )
    response = applied.get_online_features(
        ["movie_stats:title", "movie_stats@v1:title"], [{"movie_id": 5}], full_feature_names=True
    )
    assert response.to_dict() == {
        "movie_id": [5],
        "movie_stats__title": [42],
        "movie_stats@v1__title": ["Heat"],
    }
