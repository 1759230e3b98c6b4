"""Quality records in the registry: documents replace by key and list by time, monitoring
points keep one value per (view, feature, metric, time), experiment outcomes round-trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cinefeat.registry import MonitorPoint, Registry

T0 = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(f"sqlite:///{tmp_path / 'registry.db'}", "proj")


def test_documents_replace_by_key_and_list_newest_first(registry: Registry) -> None:
    records = registry.quality_records()
    records.put_document("profile", "movies", "v1", {"rows": 1}, created_at=T0)
    records.put_document("profile", "movies", "v2", {"rows": 2}, created_at=T0 + timedelta(hours=1))
    records.put_document(
        "profile", "movies", "v1", {"rows": 10}, created_at=T0 + timedelta(hours=2)
    )
    records.put_document("profile", "users", "v1", {"rows": 99}, created_at=T0)

    listed = records.list_documents("profile", "movies")
    assert [(d.key, d.body["rows"]) for d in listed] == [("v1", 10), ("v2", 2)]
    assert [d.key for d in records.list_documents("profile", "movies", newest_first=False)] == [
        "v2",
        "v1",
    ]
    assert len(records.list_documents("profile")) == 3
    assert (
        records.list_documents("profile", "movies", since=T0 + timedelta(minutes=90))[0].key == "v1"
    )
    got = records.get_document("profile", "users", "v1")
    assert got is not None and got.body == {"rows": 99} and got.created_at == T0
    assert records.get_document("profile", "users", "v9") is None
    assert records.delete_documents("profile", "movies") == 2
    assert records.list_documents("profile", "movies") == []


def test_documents_refuse_nan(registry: Registry) -> None:
    with pytest.raises(ValueError):
        registry.quality_records().put_document("profile", "movies", "v1", {"mean": float("nan")})
    assert registry.quality_records().list_documents("profile") == []


def test_other_projects_do_not_see_records(registry: Registry, tmp_path: Path) -> None:
    registry.quality_records().put_document("alert", "movies", "a1", {"x": 1})
    other = Registry(f"sqlite:///{tmp_path / 'registry.db'}", "other")
    assert other.quality_records().list_documents("alert") == []


def test_monitor_points_replace_same_time_and_filter(registry: Registry) -> None:
    records = registry.quality_records()
    records.add_points(
        [
            MonitorPoint("movies", "", "freshness_seconds", T0, 10.0, "run-1"),
            MonitorPoint("movies", "budget", "null_rate", T0, 0.5, "run-1"),
            MonitorPoint("movies", "", "freshness_seconds", T0 + timedelta(hours=1), 20.0),
        ]
    )
    records.add_points([MonitorPoint("movies", "budget", "null_rate", T0, 0.25, "run-2")])
    nulls = records.points("movies", metric="null_rate")
    assert [(p.value, p.context) for p in nulls] == [(0.25, "run-2")]
    fresh = records.points("movies", metric="freshness_seconds")
    assert [p.value for p in fresh] == [10.0, 20.0]
    assert fresh[0].at == T0
    latest = {(p.feature, p.metric): p.value for p in records.latest_points("movies")}
    assert latest == {("", "freshness_seconds"): 20.0, ("budget", "null_rate"): 0.25}
    with pytest.raises(ValueError, match="finite"):
        records.add_points([MonitorPoint("movies", "", "psi", T0, float("inf"))])


def test_experiment_outcomes_round_trip(registry: Registry) -> None:
    records = registry.quality_records()
    ids = records.add_outcomes(
        "exp1",
        [("control", "user=1", 1.0, T0 + timedelta(seconds=1)), ("treatment", "user=2", 0.0, T0)],
    )
    assert len(set(ids)) == 2
    got = records.outcomes("exp1")
    assert [(o.arm, o.entity_key, o.value) for o in got] == [
        ("treatment", "user=2", 0.0),
        ("control", "user=1", 1.0),
    ]
    assert records.outcomes("exp2") == []


def test_documents_are_found_by_label(registry: Registry) -> None:
    records = registry.quality_records()
    records.put_document("alert", "movies", "a1", {"n": 1}, created_at=T0, label="firing")
    records.put_document("alert", "movies", "a2", {"n": 2}, created_at=T0, label="resolved")
    records.put_document("alert", "movies", "a1", {"n": 3}, created_at=T0, label="resolved")
    assert [d.key for d in records.list_documents("alert", label="firing")] == []
    assert sorted(d.key for d in records.list_documents("alert", label="resolved")) == ["a1", "a2"]


def test_a_registry_from_before_a_column_existed_gets_it(tmp_path: Path) -> None:
    import sqlite3

    url = f"sqlite:///{tmp_path / 'registry.db'}"
    Registry(url, "proj").close()
    with sqlite3.connect(tmp_path / "registry.db") as db:  # as an older cinefeat made it
        db.execute("DROP INDEX ix_cinefeat_quality_documents_label")
        db.execute("ALTER TABLE cinefeat_quality_documents DROP COLUMN label")
    reopened = Registry(url, "proj")
    reopened.quality_records().put_document("alert", "movies", "a1", {}, label="firing")
    assert len(reopened.quality_records().list_documents("alert", label="firing")) == 1
    with sqlite3.connect(tmp_path / "registry.db") as db:
        indexes = [row[1] for row in db.execute("PRAGMA index_list(cinefeat_quality_documents)")]
    assert "ix_cinefeat_quality_documents_label" in indexes


def test_several_documents_are_stored_all_or_none(registry: Registry) -> None:
    records = registry.quality_records()
    stored = records.put_documents(
        [
            ("experiment", "e1", "result", {"n": 1}, T0, None),
            ("experiment", "e1", "r-1", {}, T0, None),
        ]
    )
    assert [d.key for d in stored] == ["result", "r-1"]
    with pytest.raises(ValueError):  # the second is not JSON: neither is stored
        records.put_documents(
            [
                ("experiment", "e2", "result", {"n": 1}, T0, None),
                ("experiment", "e2", "r-1", {"x": float("nan")}, T0, None),
            ]
        )
    assert records.list_documents("experiment", "e2") == []
