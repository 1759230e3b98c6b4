"""Registry: all-or-nothing apply, plan diffs, breaking changes make versions, watermarks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from cinefeat import (
    Aggregation,
    DefinitionError,
    Entity,
    FeatureService,
    FeatureView,
    Field,
    FileSource,
)
from cinefeat.errors import FeatureNotFoundError
from cinefeat.registry import Registry, Watermark
from cinefeat.types import Float64, Int32, Int64, String
from tests.helpers import at

USER = Entity("user", ["user_id"])


def stats(*fields: Field, name: str = "user_stats", **kwargs: object) -> FeatureView:
    return FeatureView(name, [USER], [Field("user_id", Int64), *fields], **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(f"sqlite:///{tmp_path}/registry.db", "proj")


def test_apply_then_read_back(registry: Registry) -> None:
    view = stats(Field("count", Int64), ttl=timedelta(days=1), description="d")
    diff = registry.apply([USER, view])
    assert [(c.kind, c.name, c.change, c.new_version) for c in diff.changes] == [
        ("entity", "user", "add", None),
        ("feature_view", "user_stats", "add", 1),
    ]
    snap = registry.snapshot()
    assert snap.entities["user"] == USER
    assert snap.feature_views["user_stats"] == view
    assert snap.feature_views["user_stats"].version == 1
    assert not registry.apply([USER, view]).has_changes


def test_a_view_brings_its_entities(registry: Registry) -> None:
    registry.apply([stats(Field("count", Int64))])
    assert "user" in registry.snapshot().entities


def test_plan_marks_breaking_changes_and_does_not_write(registry: Registry) -> None:
    registry.apply([stats(Field("count", Int64), Field("avg", Float64))])
    serial = registry.serial()
    changed = stats(Field("count", Int32), Field("new", String), description="now documented")
    diff = registry.plan([changed])
    (change,) = [c for c in diff.changes if c.kind == "feature_view"]
    assert change.change == "update" and change.breaking and change.new_version == 2
    assert "field 'count' dtype Int64 -> Int32" in change.reasons
    assert "field 'avg' removed" in change.reasons
    assert "field 'new' added" in change.reasons
    assert "description changed" in change.reasons
    assert registry.serial() == serial
    assert registry.snapshot().feature_views["user_stats"].version == 1


@pytest.mark.parametrize(
    ("new", "breaking"),
    [
        (stats(Field("count", Int64), Field("extra", Float64)), False),
        (stats(Field("count", Int64), ttl=timedelta(hours=3)), False),
        (stats(Field("count", Int64), online=False, owner="me", tags={"a": "b"}), False),
        (stats(Field("count", Float64)), True),
        (stats(Field("other", Int64)), True),
        (stats(Field("count", Int64), timestamp_field="ts"), True),
        (stats(Field("count", Int64), source=FileSource("x.parquet")), True),
        (
            FeatureView(
                "user_stats",
                [Entity("account", ["user_id"])],
                [Field("user_id", Int64), Field("count", Int64)],
            ),
            True,
        ),
    ],
)
def test_breaking_classification(registry: Registry, new: FeatureView, breaking: bool) -> None:
    registry.apply([stats(Field("count", Int64))])
    diff = registry.apply([new])
    (change,) = [c for c in diff.changes if c.kind == "feature_view"]
    assert change.breaking is breaking
    assert change.new_version == (2 if breaking else 1)
    assert registry.snapshot().feature_views["user_stats"].version == change.new_version


def test_breaking_change_keeps_earlier_versions_readable(registry: Registry) -> None:
    v1 = stats(Field("count", Int64))
    registry.apply([v1])
    registry.apply([stats(Field("count", Float64))])
    registry.apply([stats(Field("count", String))])
    versions = registry.list_feature_view_versions("user_stats")
    assert [(v.version, str(v.field("count").dtype)) for v in versions] == [
        (1, "Int64"),
        (2, "Float64"),
        (3, "String"),
    ]
    assert registry.get_feature_view("user_stats", 1) == v1
    assert registry.get_feature_view("user_stats").version == 3
    with pytest.raises(FeatureNotFoundError, match="has no version v9"):
        registry.get_feature_view("user_stats", 9)


def test_prune_removes_and_readding_continues_version_numbers(registry: Registry) -> None:
    registry.apply([stats(Field("count", Int64)), stats(Field("x", Int64), name="other")])
    diff = registry.apply([stats(Field("x", Int64), name="other")], prune=True)
    assert [(c.name, c.change) for c in diff.of("remove")] == [("user_stats", "remove")]
    assert "user_stats" not in registry.snapshot().feature_views
    # Re-added unchanged: the old version (and its data) comes back.
    diff = registry.apply([stats(Field("count", Int64))])
    assert diff.changes[-1].new_version == 1
    registry.apply([stats(Field("x", Int64), name="other")], prune=True)
    # Re-added with an incompatible schema: a new version, never a reused table.
    diff = registry.apply([stats(Field("count", String))])
    assert diff.changes[-1].new_version == 2


def test_apply_is_all_or_nothing(registry: Registry) -> None:
    registry.apply([stats(Field("count", Int64))])
    serial = registry.serial()
    broken_service = FeatureService(
        "svc", [stats(Field("missing", Int64), name="ghost")[["missing"]]]
    )
    with pytest.raises(DefinitionError, match="FeatureService 'svc' uses view ghost"):
        registry.apply([stats(Field("count", Int64), Field("added", Int64)), broken_service])
    assert registry.serial() == serial
    assert registry.snapshot().feature_views["user_stats"].feature_names == ("count",)


def test_service_must_not_lose_a_feature_to_a_breaking_change(registry: Registry) -> None:
    view = stats(Field("count", Int64), Field("avg", Float64))
    registry.apply([view, FeatureService("svc", [view[["avg"]]])])
    with pytest.raises(DefinitionError, match="uses user_stats:avg, which view 'user_stats'"):
        registry.apply([stats(Field("count", Int64))])


def test_entity_join_key_mismatch_is_refused(registry: Registry) -> None:
    registry.apply([USER])
    message = r"FeatureView 'v' uses entity 'user' with join keys \['uid'\], but the entity has"
    with pytest.raises(DefinitionError, match=message):
        registry.apply(
            [
                Entity("user", ["user_id"]),
                FeatureView(
                    "v", [Entity("user", ["uid"])], [Field("uid", Int64), Field("x", Int64)]
                ),
            ]
        )


def test_projects_are_isolated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    Registry(url, "a").apply([stats(Field("count", Int64))])
    assert Registry(url, "b").snapshot().feature_views == {}


def test_watermarks(registry: Registry) -> None:
    registry.apply([stats(Field("count", Int64))])
    assert registry.get_watermark("user_stats", 1) is None
    registry.set_watermark("user_stats", 1, Watermark(at(3, microseconds=7), 4))
    registry.set_watermark("user_stats", 1, Watermark(at(5), 6))
    assert registry.get_watermark("user_stats", 1) == Watermark(at(5), 6)
    assert registry.get_watermark("user_stats", 2) is None


def rated(*aggregations: Aggregation, extra: tuple[Field, ...] = ()) -> FeatureView:
    fields = [Field(a.output, Float64) for a in aggregations]
    return stats(*fields, *extra, aggregations=list(aggregations))


@pytest.mark.parametrize(
    ("new", "breaking"),
    [
        (rated(Aggregation("rating", "mean", timedelta(days=7))), False),
        (rated(Aggregation("rating", "mean", timedelta(days=7), name="other")), True),  # removed
        (rated(Aggregation("score", "mean", timedelta(days=7), name="rating_mean_7d")), True),
        (rated(Aggregation("rating", "sum", timedelta(days=7), name="rating_mean_7d")), True),
        (rated(Aggregation("rating", "mean", timedelta(days=30), name="rating_mean_7d")), True),
        (  # a plain field in place of an aggregated one: the stored values meant something else
            stats(Field("rating_mean_7d", Float64)),
            True,
        ),
        (  # a new aggregation beside the old one only adds a field
            rated(
                Aggregation("rating", "mean", timedelta(days=7)),
                Aggregation("rating", "count"),
            ),
            False,
        ),
    ],
)
def test_aggregation_changes(registry: Registry, new: FeatureView, breaking: bool) -> None:
    registry.apply([rated(Aggregation("rating", "mean", timedelta(days=7)))])
    (change,) = [c for c in registry.apply([new]).changes if c.kind == "feature_view"]
    assert change.breaking is breaking
    if breaking and "removed" not in " ".join(change.reasons):
        assert "'rating_mean_7d' is computed differently" in " ".join(change.reasons)


def test_file_source_changes(registry: Registry) -> None:
    registry.apply([stats(Field("count", Int64), source=FileSource("a.parquet", "ts"))])
    moved = registry.apply([stats(Field("count", Int64), source=FileSource("b.parquet", "ts"))])
    (change,) = [c for c in moved.changes if c.kind == "feature_view"]
    assert (change.breaking, change.reasons) == (False, ("source path changed",))
    retimed = registry.apply([stats(Field("count", Int64), source=FileSource("b.parquet", "t2"))])
    (change,) = [c for c in retimed.changes if c.kind == "feature_view"]
    assert change.breaking and change.new_version == 2


def test_opening_does_not_wait_for_the_write_lock(tmp_path: Path) -> None:
    import sqlite3
    import time

    url = f"sqlite:///{tmp_path}/registry.db"
    Registry(url, "proj").apply([stats(Field("count", Int64))])
    blocker = sqlite3.connect(tmp_path / "registry.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process in the middle of an apply
    try:
        started = time.perf_counter()
        registry = Registry(url, "proj")
        assert "user_stats" in registry.snapshot().feature_views
        assert time.perf_counter() - started < 1.0
    finally:
        blocker.execute("ROLLBACK")


def test_describe_shows_new_versions_only() -> None:
    from cinefeat.registry import ObjectChange

    assert ObjectChange("feature_view", "v", "update", False, ("ttl changed",), 1).describe() == (
        "~ feature_view v: ttl changed"
    )
    assert "-> v2 [BREAKING]" in ObjectChange("feature_view", "v", "update", True, (), 2).describe()


def test_a_registry_from_an_older_version_gains_new_tables(tmp_path: Path) -> None:
    import sqlite3

    url = f"sqlite:///{tmp_path}/registry.db"
    Registry(url, "proj").apply([stats(Field("count", Int64))])
    sqlite3.connect(tmp_path / "registry.db").execute("DROP TABLE cinefeat_on_demand_views")
    registry = Registry(url, "proj")  # as if opened by a newer cinefeat
    assert "user_stats" in registry.snapshot().feature_views
    assert registry.snapshot().on_demand_views == {}
