"""On-demand features: one udf, the same values online and offline, stored for other processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from cinefeat import (
    CinefeatError,
    DefinitionError,
    Entity,
    EntityDataFrameError,
    FeatureService,
    FeatureStore,
    FeatureView,
    Field,
)
from cinefeat.definitions import OnDemandFeatureView, RequestSource
from cinefeat.types import Float64, Int64, UnixTimestamp
from tests.helpers import run_python

NOW = datetime.now(UTC).replace(microsecond=0)
USER, MOVIE = Entity("user", ["user_id"]), Entity("movie", ["movie_id"])
USERS = FeatureView(
    "users",
    [USER],
    [Field("user_id", Int64), Field("mean_rating", Float64)],
    ttl=timedelta(days=30),
)
MOVIES = FeatureView(
    "movies",
    [MOVIE],
    [Field("movie_id", Int64), Field("vote_average", Float64), Field("released", UnixTimestamp)],
    ttl=timedelta(days=30),
)
REQUEST = RequestSource("request", [Field("request_ts", UnixTimestamp)])


def match(inputs: pl.DataFrame) -> pl.DataFrame:
    bias = pl.col("users__mean_rating") - pl.col("movies__vote_average") / 2
    age = (pl.col("request_ts") - pl.col("movies__released")).dt.total_days()
    return inputs.select(bias.alias("rating_bias"), age.cast(pl.Int64).alias("age_days"))


MATCH = OnDemandFeatureView(
    "match",
    sources=[USERS[["mean_rating"]], MOVIES, REQUEST],
    schema=[Field("rating_bias", Float64), Field("age_days", Int64)],
    udf=match,
    description="how a user and a movie fit",
)


@pytest.fixture
def odfv_store(store: FeatureStore) -> FeatureStore:
    store.apply([USERS, MOVIES, MATCH, FeatureService("ranker", [USERS, MATCH])])
    store.push(
        "users",
        pd.DataFrame({"user_id": [1, 2], "mean_rating": [4.0, 3.0], "event_timestamp": [NOW] * 2}),
        to="online_and_offline",
    )
    store.push(
        "movies",
        pd.DataFrame(
            {
                "movie_id": [10, 11],
                "vote_average": [7.0, 9.0],
                "released": [NOW - timedelta(days=10), NOW - timedelta(days=400)],
                "event_timestamp": [NOW] * 2,
            }
        ),
        to="online_and_offline",
    )
    return store


def test_online_and_offline_agree(odfv_store: FeatureStore) -> None:
    request_ts = NOW + timedelta(hours=1)
    rows = [
        {"user_id": 1, "movie_id": 10, "request_ts": request_ts},
        {"user_id": 2, "movie_id": 11, "request_ts": request_ts},
        {"user_id": 3, "movie_id": 10, "request_ts": request_ts},  # unknown user
    ]
    refs = ["match:rating_bias", "movies:vote_average", "match:age_days"]
    online = odfv_store.get_online_features(refs, rows).to_dict()
    assert online["rating_bias"] == [0.5, -1.5, None]
    assert online["age_days"] == [10, 400, 10]
    assert list(online) == ["user_id", "movie_id", "rating_bias", "vote_average", "age_days"]

    entity = pd.DataFrame(rows).assign(event_timestamp=request_ts)
    offline = odfv_store.get_historical_features(entity, refs).to_df()
    assert offline["rating_bias"].tolist()[:2] == online["rating_bias"][:2]
    assert pd.isna(offline["rating_bias"][2])
    assert offline["age_days"].tolist() == online["age_days"]
    assert list(offline.columns) == [
        "user_id",
        "movie_id",
        "request_ts",
        "event_timestamp",
        "rating_bias",
        "vote_average",
        "age_days",
    ]


def test_statuses_and_services(odfv_store: FeatureStore) -> None:
    rows = [{"user_id": 3, "movie_id": 10, "request_ts": NOW}]
    response = odfv_store.get_online_features("ranker", rows, full_feature_names=True)
    assert response.feature_names == [
        "users__mean_rating",
        "match__rating_bias",
        "match__age_days",
    ]
    assert [s.value for s in response.statuses["match__rating_bias"]] == ["NULL_VALUE"]
    assert [s.value for s in response.statuses["match__age_days"]] == ["PRESENT"]


def test_request_data_is_required(odfv_store: FeatureStore) -> None:
    with pytest.raises(EntityDataFrameError, match="lacks request data 'request_ts'"):
        odfv_store.get_online_features(["match:age_days"], [{"user_id": 1, "movie_id": 10}])
    entity = pd.DataFrame({"user_id": [1], "movie_id": [10], "event_timestamp": [NOW]})
    with pytest.raises(EntityDataFrameError, match=r"lacks the request data \['request_ts'\]"):
        odfv_store.get_historical_features(entity, ["match:age_days"]).to_df()


@pytest.mark.parametrize("number", [1_700_000_000, 1.7e9])
def test_request_times_must_be_datetimes_not_epoch_numbers(
    odfv_store: FeatureStore, number: float
) -> None:
    # Read as microseconds, 1.7e9 would be 1970-01-01T00:28: a wrong answer, not an error.
    with pytest.raises(EntityDataFrameError, match="'request_ts' must be datetimes"):
        odfv_store.get_online_features(
            ["match:age_days"], [{"user_id": 1, "movie_id": 10, "request_ts": number}]
        )
    entity = pd.DataFrame(
        {"user_id": [1], "movie_id": [10], "request_ts": [number], "event_timestamp": [NOW]}
    )
    with pytest.raises(EntityDataFrameError, match="'request_ts' must be datetimes"):
        odfv_store.get_historical_features(entity, ["match:age_days"]).to_df()
    iso = (NOW + timedelta(days=1)).isoformat()
    online = odfv_store.get_online_features(
        ["match:age_days"], [{"user_id": 1, "movie_id": 10, "request_ts": iso}]
    )
    assert online.to_dict()["age_days"] == [11]
    with pytest.raises(EntityDataFrameError, match="not an ISO 8601 time"):
        odfv_store.get_online_features(
            ["match:age_days"], [{"user_id": 1, "movie_id": 10, "request_ts": "next tuesday"}]
        )


def test_another_process_runs_the_stored_udf(odfv_store: FeatureStore, repo: Path) -> None:
    code = f"""
from datetime import datetime, timezone
from cinefeat import FeatureStore
store = FeatureStore(".")
rows = [{{"user_id": 1, "movie_id": 10, "request_ts": datetime.fromisoformat("{NOW.isoformat()}")}}]
print(store.get_online_features(["match:rating_bias", "match:age_days"], rows).to_dict())
"""
    result = run_python(code, cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "'rating_bias': [0.5], 'age_days': [10]" in result.stdout


def broken(inputs: pl.DataFrame) -> pl.DataFrame:
    return inputs.select(pl.col("nope"))


def test_udf_failures_name_the_view(store: FeatureStore) -> None:
    view = OnDemandFeatureView("bad", [USERS], [Field("x", Float64)], udf=broken)
    store.apply([USERS, view])
    store.push(
        "users", pd.DataFrame({"user_id": [1], "mean_rating": [4.0], "event_timestamp": [NOW]})
    )
    with pytest.raises(CinefeatError, match="on-demand view 'bad': its udf failed"):
        store.get_online_features(["bad:x"], [{"user_id": 1}])


def test_definition_checks(store: FeatureStore) -> None:
    with pytest.raises(DefinitionError, match="udf must be a named, top-level function"):
        OnDemandFeatureView("v", [USERS], [Field("x", Float64)], udf=lambda df: df)
    store.apply([USERS, MOVIES, MATCH])
    changed = FeatureView(
        "movies",
        [MOVIE],
        [Field("movie_id", Int64), Field("vote_average", Int64), Field("released", UnixTimestamp)],
    )
    with pytest.raises(DefinitionError, match="reads movies:vote_average as Float64"):
        store.apply([changed])
    assert store.get_on_demand_feature_view("match").feature_names == ("rating_bias", "age_days")
    # A plain view taking an on-demand view's name in a later apply would make "match:x" ambiguous.
    same_name = FeatureView("match", [USER], [Field("user_id", Int64), Field("x", Float64)])
    with pytest.raises(DefinitionError, match="would both be named 'match'"):
        store.apply([same_name])
    with pytest.raises(DefinitionError, match="would both be named 'users'"):
        store.apply([OnDemandFeatureView("users", [MOVIES], [Field("x", Float64)], udf=broken)])


def uses_a_global(inputs: pl.DataFrame) -> pl.DataFrame:
    return inputs.select(pl.col(NOW.isoformat()))


def imports_os(inputs: pl.DataFrame) -> pl.DataFrame:
    import os

    return inputs.with_columns(pl.lit(os.sep))


def reads_dunders(inputs: pl.DataFrame) -> pl.DataFrame:
    return inputs.__class__(inputs)


@pytest.mark.parametrize(
    ("udf", "problem"),
    [
        (uses_a_global, "it uses 'NOW', which another process would not have"),
        (imports_os, "imports and global statements are not allowed"),
        (reads_dunders, "dunder attribute '__class__' is not allowed"),
    ],
)
def test_udfs_that_would_fail_elsewhere_are_refused_when_defined(udf: object, problem: str) -> None:
    with pytest.raises(DefinitionError, match=problem):
        OnDemandFeatureView("v", [USERS], [Field("x", Float64)], udf=udf)  # type: ignore[arg-type]


def test_stored_source_runs_only_when_features_are_computed(store: FeatureStore) -> None:
    from sqlalchemy import create_engine, text

    from cinefeat.definitions._on_demand import load_udf

    store.apply([USERS, MOVIES, MATCH])
    engine = create_engine(store.config.registry.url(store.repo_path))
    with engine.begin() as conn:  # edit the stored copy behind cinefeat's back
        table = "cinefeat_on_demand_views"
        spec = conn.execute(text(f"SELECT spec FROM {table} WHERE name = 'match'")).scalar_one()
        edited = spec.replace("return inputs.select(", "import os\\n    return inputs.select(")
        assert edited != spec
        update = text(f"UPDATE {table} SET spec = :spec WHERE name = 'match'")
        conn.execute(update, {"spec": edited})
    engine.dispose()
    view = FeatureStore(store.repo_path).get_on_demand_feature_view("match")  # reading is safe
    with pytest.raises(DefinitionError, match="imports and global statements are not allowed"):
        view.udf(pl.DataFrame())
    with pytest.raises(DefinitionError, match="does not parse"):
        load_udf("f", "def f(:")
