"""Materialization: latest row per entity into the online store, watermarks, late data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from cinefeat import Entity, FeatureStore, FeatureView, Field
from cinefeat.materialize import _sql as materialize_sql
from cinefeat.online import FieldStatus
from cinefeat.types import Int64
from tests.helpers import at


@pytest.fixture
def counts(store: FeatureStore) -> FeatureStore:
    view = FeatureView(
        "counts", [Entity("user", ["user_id"])], [Field("user_id", Int64), Field("n", Int64)]
    )
    store.apply([view])
    return store


def write(store: FeatureStore, rows: list[tuple[int, int, object]], **extra: list[object]) -> None:
    frame = pd.DataFrame(rows, columns=["user_id", "n", "event_timestamp"]).assign(**extra)
    store.write_offline("counts", frame)


def online(store: FeatureStore, *users: int) -> list[object]:
    response = store.get_online_features(["counts:n"], [{"user_id": u} for u in users])
    return response.values["n"]


def test_materialize_takes_the_latest_row_in_the_inclusive_range(counts: FeatureStore) -> None:
    write(counts, [(1, 10, at(1)), (1, 11, at(2)), (1, 12, at(5)), (2, 20, at(3)), (3, 30, at(9))])
    (result,) = counts.materialize(at(1), at(3))
    assert (result.rows_read, result.rows_written) == (3, 2)
    assert online(counts, 1, 2, 3) == [11, 20, None]
    (result,) = counts.materialize(at(0), at(9))
    assert online(counts, 1, 2, 3) == [12, 20, 30]


def test_equal_event_times_resolve_by_created_time(counts: FeatureStore) -> None:
    write(
        counts,
        [(1, 10, at(1)), (1, 11, at(1)), (1, 12, at(1))],
        created_timestamp=[at(1, hours=2), at(1, hours=3), at(1, hours=1)],
    )
    counts.materialize(at(0), at(2))
    assert online(counts, 1) == [11]


def test_out_of_order_commits_never_replace_newer_values(counts: FeatureStore) -> None:
    write(counts, [(1, 50, at(5))])
    counts.materialize_incremental(at(6))
    write(counts, [(1, 10, at(1)), (2, 20, at(2))])  # late rows, older than what is online
    (result,) = counts.materialize_incremental(at(6))
    assert result.rows_read == 2  # the late commit was found behind the watermark...
    assert online(counts, 1, 2) == [50, 20]  # ...and only filled what was missing


def test_incremental_twice_does_no_duplicate_work(counts: FeatureStore) -> None:
    write(counts, [(1, 10, at(1)), (2, 20, at(2))])
    (first,) = counts.materialize_incremental(at(3))
    assert (first.rows_read, first.rows_written, first.skipped) == (2, 2, None)
    (second,) = counts.materialize_incremental(at(3))
    assert second.rows_read == 0 and second.skipped and "up to date" in second.skipped
    write(counts, [(1, 11, at(4))])
    (third,) = counts.materialize_incremental(at(5))
    assert (third.start, third.rows_read, third.rows_written) == (at(3), 1, 1)
    assert online(counts, 1, 2) == [11, 20]
    mark = counts.registry.get_watermark("counts", 1)
    assert mark is not None and mark.event_time == at(5) and mark.delta_version == 1


def test_first_incremental_run_starts_at_end_minus_ttl(store: FeatureStore) -> None:
    view = FeatureView(
        "counts",
        [Entity("user", ["user_id"])],
        [Field("user_id", Int64), Field("n", Int64)],
        ttl=timedelta(days=2),
    )
    store.apply([view])
    write(store, [(1, 10, at(1)), (2, 20, at(8)), (3, 30, at(9))])
    (result,) = store.materialize_incremental(at(10))
    assert result.start == at(8) and result.rows_written == 2


def test_offline_only_views_are_skipped(store: FeatureStore) -> None:
    view = FeatureView(
        "counts",
        [Entity("user", ["user_id"])],
        [Field("user_id", Int64), Field("n", Int64)],
        online=False,
    )
    store.apply([view])
    assert store.materialize_incremental(at(1)) == []
    (result,) = store.materialize_incremental(at(1), ["counts"])
    assert result.skipped == "not an online view (online=False)"


def test_chunked_writes_give_the_same_result(
    counts: FeatureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(materialize_sql, "CHUNK_ROWS", 7)
    write(counts, [(u, u * 10 + d, at(d)) for u in range(100) for d in range(3)])
    (result,) = counts.materialize(at(0), at(5))
    assert (result.rows_read, result.rows_written) == (300, 100)
    assert online(counts, 0, 42, 99) == [2, 422, 992]


def test_materialized_values_carry_event_times_and_statuses(counts: FeatureStore) -> None:
    write(counts, [(1, 10, at(1))])
    counts.materialize(at(0), at(2))
    response = counts.get_online_features(["counts:n"], [{"user_id": 1}, {"user_id": 7}])
    assert response.event_timestamps["n"] == [at(1), None]
    assert response.statuses["n"] == [FieldStatus.PRESENT, FieldStatus.NOT_FOUND]


def test_an_explicit_range_does_not_hide_late_rows_from_incremental_runs(
    counts: FeatureStore,
) -> None:
    write(counts, [(1, 10, at(1))])
    counts.materialize_incremental(at(10))
    write(counts, [(2, 20, at(2))])  # late: older than the watermark
    counts.materialize(at(20), at(30))  # a range that does not cover it
    assert online(counts, 2) == [None]
    (result,) = counts.materialize_incremental(at(30))
    assert result.rows_read == 1
    assert online(counts, 1, 2) == [10, 20]


def test_an_explicit_range_after_a_gap_keeps_the_watermark(counts: FeatureStore) -> None:
    write(counts, [(1, 10, at(1))])
    counts.materialize_incremental(at(2))
    write(counts, [(2, 20, at(4))])  # between the watermark and the explicit range
    counts.materialize(at(5), at(6))
    mark = counts.registry.get_watermark("counts", 1)
    assert mark is not None and mark.event_time == at(2)
    counts.materialize_incremental(at(7))
    assert online(counts, 1, 2) == [10, 20]


def test_removing_and_readding_a_view_loads_it_again(counts: FeatureStore) -> None:
    write(counts, [(1, 10, at(1))])
    counts.materialize_incremental(at(2))
    view = counts.get_feature_view("counts")
    counts.apply([], prune=True)
    assert counts.registry.get_watermark("counts", 1) is None
    counts.apply([view])  # unchanged: the same version (and Delta table) comes back
    assert counts.get_feature_view("counts").version == 1
    (result,) = counts.materialize_incremental(at(2))
    assert result.rows_written == 1
    assert online(counts, 1) == [10]


def test_teardown_forgets_watermarks_and_cached_values(counts: FeatureStore) -> None:
    write(counts, [(1, 10, at(1))])
    counts.materialize_incremental(at(2))
    assert online(counts, 1) == [10]  # now cached
    counts.teardown()
    assert online(counts, 1) == [None]
    (result,) = counts.materialize_incremental(at(2))
    assert result.rows_written == 1
    assert online(counts, 1) == [10]


def test_a_teardown_reaches_a_store_that_is_already_serving(
    counts: FeatureStore, repo: Path
) -> None:
    """A server holds the online store open while another process tears it down and loads it
    again: it must see both, not keep reading the old file."""
    write(counts, [(1, 10, at(1))])
    counts.materialize_incremental(at(2))
    with FeatureStore(repo) as serving:
        assert online(serving, 1) == [10]  # cached there now
        counts.teardown()
        assert online(serving, 1) == [None]
        write(counts, [(1, 11, at(3))])
        counts.materialize_incremental(at(4))
        assert online(serving, 1) == [11]
