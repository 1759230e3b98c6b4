"""Definitions validate on construction, with errors naming the object and the field."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cinefeat import (
    DefinitionError,
    Entity,
    FeatureService,
    FeatureView,
    Field,
    FileSource,
    ServiceFeatures,
)
from cinefeat.types import (
    Array,
    Bool,
    Float32,
    Float64,
    Int32,
    Int64,
    String,
    UnixTimestamp,
    parse_dtype,
)


def view(**overrides: object) -> FeatureView:
    user = Entity("user", ["user_id"])
    kwargs: dict[str, object] = {
        "name": "user_stats",
        "entities": [user],
        "schema": [Field("user_id", Int64), Field("rating_count", Int64)],
    }
    kwargs.update(overrides)
    return FeatureView(**kwargs)  # type: ignore[arg-type]


def test_entity_defaults_join_key_to_its_name_and_accepts_a_string() -> None:
    assert Entity("user").join_keys == ("user",)
    assert Entity("user", "user_id").join_keys == ("user_id",)
    assert Entity("pair", ["user_id", "movie_id"]).join_keys == ("user_id", "movie_id")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "bad name"}, "Entity name 'bad name' is invalid"),
        ({"name": "a__b"}, "must not contain '__'"),
        ({"name": "user", "join_keys": ["id", "id"]}, "contain a duplicate"),
        ({"name": "user", "tags": {"a": 1}}, "Entity 'user': tags must be a mapping of strings"),
        ({"name": "user", "owner": 3}, "Entity 'user': owner must be a string"),
    ],
)
def test_entity_errors_name_the_entity_and_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DefinitionError, match=message.replace("(", r"\(")):
        Entity(**kwargs)  # type: ignore[arg-type]


def test_field_accepts_dtype_names_and_rejects_unknown_ones() -> None:
    assert Field("g", "Array(Int64)").dtype == Array(Int64)
    assert Field("x", "Float32").dtype is Float32
    with pytest.raises(DefinitionError, match=r"Field 'x': unknown dtype 'int'; expected one of"):
        Field("x", "int")  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="unknown dtype"):
        Field("x", int)  # type: ignore[arg-type]


def test_dtypes_round_trip_through_their_names_and_map_to_arrow() -> None:
    import pyarrow as pa

    for dtype in (Int32, Int64, Float32, Float64, String, Bool, UnixTimestamp, Array(String)):
        assert parse_dtype(str(dtype)) == dtype
    assert UnixTimestamp.to_arrow() == pa.timestamp("us", tz="UTC")
    assert Array(Float32).to_arrow() == pa.list_(pa.float32())
    with pytest.raises(DefinitionError, match="nested arrays"):
        Array(Array(Int64))  # type: ignore[arg-type]


def test_feature_view_derives_keys_features_and_time_columns() -> None:
    fv = view(ttl=3600)
    assert fv.join_keys == ("user_id",)
    assert fv.feature_names == ("rating_count",)
    assert fv.ttl == timedelta(hours=1)
    assert fv.event_timestamp_column == "event_timestamp"
    assert fv.created_column == "created_timestamp"
    assert fv.is_managed
    source = FileSource("stats.parquet", timestamp_field="ts", created_timestamp_column="created")
    file_view = view(source=source)
    assert not file_view.is_managed
    assert (file_view.event_timestamp_column, file_view.created_column) == ("ts", "created")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"schema": [Field("user_id", Int64), Field("x", Int64), Field("x", Float64)]},
            "FeatureView 'user_stats': field 'x' appears twice in schema",
        ),
        (
            {"schema": [Field("rating_count", Int64)]},
            "FeatureView 'user_stats': join key 'user_id' of entity 'user' is missing from schema",
        ),
        (
            {"schema": [Field("user_id", Float64), Field("x", Int64)]},
            "join key 'user_id' has dtype Float64",
        ),
        ({"ttl": -5}, "FeatureView 'user_stats': ttl must not be negative"),
        ({"ttl": "1d"}, "FeatureView 'user_stats': ttl must be a timedelta or a number of seconds"),
        ({"ttl": True}, "ttl must be a timedelta"),
        ({"entities": []}, "entities must name at least one Entity"),
        ({"entities": ["user"]}, "entities must be Entity objects"),
        ({"schema": [Field("user_id", Int64)]}, "schema has only join keys"),
        (
            {"schema": [Field("user_id", Int64), Field("event_timestamp", Int64)]},
            "field 'event_timestamp' clashes with the view's timestamp column",
        ),
        ({"online": "yes"}, "online must be True or False"),
        (
            {"source": FileSource("x.parquet"), "timestamp_field": "ts"},
            "takes its timestamp columns from the source",
        ),
        ({"name": "user-stats"}, "FeatureView name 'user-stats' is invalid"),
    ],
)
def test_feature_view_errors(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(DefinitionError, match=message.replace("(", r"\(")):
        view(**overrides)


def test_projection_and_service_validate_feature_names() -> None:
    fv = view(schema=[Field("user_id", Int64), Field("a", Int64), Field("b", Float64)])
    assert fv[["b"]].features == ("b",)
    with pytest.raises(DefinitionError, match=r"FeatureView 'user_stats' has no feature 'zz'"):
        fv[["zz"]]
    service = FeatureService("svc", [fv[["a"]], ServiceFeatures("other", ("c",), version=2)])
    assert service.feature_refs() == ["user_stats:a", "other@v2:c"]
    with pytest.raises(
        DefinitionError, match=r"FeatureService 'svc': feature user_stats:a is listed twice"
    ):
        FeatureService("svc", [fv, fv[["a"]]])
    with pytest.raises(DefinitionError, match="FeatureService 'svc': features must list"):
        FeatureService("svc", [])
    with pytest.raises(DefinitionError, match="features must be a list"):
        FeatureService("svc", fv)  # type: ignore[arg-type]


def test_specs_round_trip() -> None:
    fv = view(
        schema=[
            Field("user_id", Int64),
            Field("g", Array(Int64), description="genres", tags={"k": "v"}),
        ],
        ttl=timedelta(days=2),
        description="d",
        tags={"team": "recsys"},
        owner="me",
        source=FileSource("p.parquet", "ts", "created"),
    )
    assert FeatureView.from_spec(fv.to_spec()) == fv
    entity = Entity("user", ["user_id"], "people", {"a": "b"}, "owner")
    assert Entity.from_spec(entity.to_spec()) == entity
    service = FeatureService("s", [fv[["g"]]], description="x")
    assert FeatureService.from_spec(service.to_spec()) == service


def test_internal_column_names_are_reserved() -> None:
    with pytest.raises(DefinitionError, match="must not start with '__'"):
        Field("__cf_ts", Int64)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"view": "bad name", "features": ("a",)}, "FeatureView name 'bad name' is invalid"),
        ({"view": "v", "features": ()}, "features must name at least one feature"),
        ({"view": "v", "features": ("a",), "version": 0}, "version must be a positive integer"),
    ],
)
def test_service_features_validate(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        ServiceFeatures(**kwargs)  # type: ignore[arg-type]
    assert ServiceFeatures("v", "a").features == ("a",)  # type: ignore[arg-type]
