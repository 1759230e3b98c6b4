"""replace_offline: a slice of a view's stored rows replaced in one Delta commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from deltalake import DeltaTable

from cinefeat import CinefeatError, Entity, FeatureStore, FeatureView, Field, FileSource
from cinefeat.errors import SchemaMismatchError
from cinefeat.offline import ReplaceResult
from cinefeat.types import Float64, Int64, String
from tests.helpers import at

TS = "event_timestamp"
MOVIE_COLUMNS = ["movie_id", "title", "rating_count", TS]
USER_COLUMNS = ["user_id", "rating_count", "avg_rating", "genres", TS]


def movies(*rows: tuple[int, str, int, datetime]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=MOVIE_COLUMNS)


def users(*rows: tuple[int, int, float, list[int], datetime]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=USER_COLUMNS)


def stored(store: FeatureStore, view: str, columns: list[str]) -> list[tuple[object, ...]]:
    """The view's rows (without created time), sorted by every column given."""
    frame = pl.from_arrow(store.read_offline(view))
    assert isinstance(frame, pl.DataFrame)
    return frame.select(columns).sort(columns).rows()


def at_day(day: datetime) -> Callable[[pl.LazyFrame], pl.LazyFrame]:
    return lambda ids: ids.filter(pl.col(TS) == day)


def version(store: FeatureStore, view: str) -> int | None:
    return store.offline_store.current_version(store.get_feature_view(view))


def last_operation(store: FeatureStore, view: str) -> str:
    path = store.offline_store.table_path(store.get_feature_view(view))
    return str(DeltaTable(str(path)).history(1)[0]["operation"])


def test_replacing_a_snapshot(applied: FeatureStore) -> None:
    applied.write_offline("movie_stats", movies((1, "a", 1, at(0)), (2, "b", 2, at(0))))
    applied.write_offline(
        "movie_stats", movies((1, "a", 3, at(1)), (2, "b", 4, at(1)), (3, "c", 5, at(1)))
    )
    # Movie 1 leaves snapshot 1, movie 2 changes, movie 3 is the same, movie 4 is new.
    new = movies((2, "B", 40, at(1)), (3, "c", 5, at(1)), (4, "d", 6, at(1)))
    result = applied.replace_offline("movie_stats", new, at_day(at(1)))
    assert result == ReplaceResult("movie_stats", "movie_stats__v1", 1, 2, 1, 2)
    assert version(applied, "movie_stats") == 2  # one commit
    assert last_operation(applied, "movie_stats") == "MERGE"
    assert stored(applied, "movie_stats", [TS, *MOVIE_COLUMNS[:3]]) == [
        (at(0), 1, "a", 1),
        (at(0), 2, "b", 2),
        (at(1), 2, "B", 40),
        (at(1), 3, "c", 5),
        (at(1), 4, "d", 6),
    ]
    assert applied.read_offline("movie_stats", 1).num_rows == 5  # history is kept


def test_replacing_some_users_from_a_day_on(applied: FeatureStore) -> None:
    applied.write_offline(
        "user_stats",
        users(
            (1, 1, 1.0, [1], at(0)),
            (1, 2, 2.0, [1, 2], at(1)),
            (1, 3, 3.0, [], at(2)),
            (2, 10, 1.5, [3], at(1)),
            (2, 11, 2.5, [3], at(2)),
            (3, 20, 4.0, [4], at(1)),
            (3, 21, 4.5, [4], at(2)),
        ),
    )
    new = users(
        (1, 5, 5.0, [5], at(1)),
        (1, 6, 5.0, [5, 6], at(2)),
        (2, 12, 3.0, [], at(2)),
        (2, 13, 3.5, [7], at(3)),
    )
    result = applied.replace_offline(
        "user_stats",
        new,
        lambda ids: ids.filter(pl.col("user_id").is_in([1, 2]), pl.col(TS) >= at(1)),
    )
    # Updated: (1, day 1), (1, day 2), (2, day 2); deleted: (2, day 1); inserted: (2, day 3).
    assert (result.inserted, result.updated, result.deleted) == (1, 3, 1)
    assert stored(applied, "user_stats", ["user_id", TS, "rating_count", "genres"]) == [
        (1, at(0), 1, [1]),  # before the day: untouched
        (1, at(1), 5, [5]),
        (1, at(2), 6, [5, 6]),
        (2, at(2), 12, []),
        (2, at(3), 13, [7]),
        (3, at(1), 20, [4]),  # another user: untouched
        (3, at(2), 21, [4]),
    ]


def test_slice_as_a_semi_join_with_a_files_keys(applied: FeatureStore) -> None:
    applied.write_offline(
        "movie_stats", movies((1, "a", 1, at(0)), (1, "a", 2, at(1)), (2, "b", 3, at(0)))
    )
    # The changed file held movie 1 before and holds movies 1 and 5 now.
    keys = pl.DataFrame({"movie_id": [1, 5]})
    new = movies((1, "A", 7, at(1)), (5, "e", 8, at(1)))
    result = applied.replace_offline(
        "movie_stats", new, lambda ids: ids.join(keys.lazy(), on="movie_id", how="semi")
    )
    assert (result.inserted, result.updated, result.deleted) == (1, 1, 1)
    assert stored(applied, "movie_stats", MOVIE_COLUMNS) == [
        (1, "A", 7, at(1)),
        (2, "b", 3, at(0)),
        (5, "e", 8, at(1)),
    ]


def test_in_slice_sees_the_stored_identities_with_storage_types(applied: FeatureStore) -> None:
    applied.write_offline("movie_stats", movies((1, "a", 1, at(0))))
    seen: list[pl.Schema] = []

    def in_slice(ids: pl.LazyFrame) -> pl.LazyFrame:
        seen.append(ids.collect_schema())
        return ids.filter(pl.lit(False))

    applied.replace_offline("movie_stats", movies((2, "b", 2, at(0))), in_slice)
    assert seen == [pl.Schema({"movie_id": pl.Int64(), TS: pl.Datetime("us", "UTC")})]


def test_rerunning_a_replacement_leaves_the_same_table(applied: FeatureStore) -> None:
    applied.write_offline("movie_stats", movies((1, "a", 1, at(1)), (2, "b", 2, at(1))))
    # With the created time given, a rerun writes the very same rows (without it, the rows
    # would differ only in created_timestamp, the time of each run).
    new = movies((2, "B", 20, at(1)), (3, "c", 3, at(1))).assign(created_timestamp=at(9))
    first = applied.replace_offline("movie_stats", new, at_day(at(1)))
    after_first = applied.read_offline("movie_stats").sort_by("movie_id")
    second = applied.replace_offline("movie_stats", new, at_day(at(1)))
    after_second = applied.read_offline("movie_stats").sort_by("movie_id")
    assert (first.inserted, first.updated, first.deleted) == (1, 1, 1)
    # The rerun replaces each row by itself: no duplicates, reported as updates, one commit.
    assert (second.inserted, second.updated, second.deleted) == (0, 2, 0)
    assert second.delta_version == first.delta_version + 1  # type: ignore[operator]
    assert after_second.equals(after_first)
    assert after_second.column("movie_id").to_pylist() == [2, 3]


def test_identity_of_several_join_keys(store: FeatureStore, user: Entity) -> None:
    country = Entity("country", ["country"])
    view = FeatureView(
        "user_country",
        [user, country],
        [Field("user_id", Int64), Field("country", String), Field("n", Int64)],
    )
    store.apply([user, country, view])
    columns = ["user_id", "country", "n", TS]
    store.write_offline(
        "user_country",
        pd.DataFrame(
            [(1, "fr", 1, at(0)), (1, "kr", 2, at(0)), (2, "fr", 3, at(0))], columns=columns
        ),
    )
    new = pd.DataFrame([(1, "kr", 20, at(0)), (2, "kr", 4, at(0))], columns=columns)
    result = store.replace_offline(
        "user_country", new, lambda ids: ids.filter(pl.col("user_id") == 1)
    )
    assert (result.inserted, result.updated, result.deleted) == (1, 1, 1)
    assert stored(store, "user_country", columns) == [
        (1, "kr", 20, at(0)),
        (2, "fr", 3, at(0)),
        (2, "kr", 4, at(0)),
    ]


def test_identity_stored_twice_ends_up_once(applied: FeatureStore) -> None:
    # Plain writes may store one key and event time twice (a later correction).
    applied.write_offline("movie_stats", movies((1, "a", 1, at(0))))
    applied.write_offline("movie_stats", movies((1, "a2", 2, at(0)), (2, "b", 3, at(0))))
    result = applied.replace_offline(
        "movie_stats", movies((1, "A", 9, at(0))), lambda ids: ids.filter(pl.lit(False))
    )
    assert (result.inserted, result.updated, result.deleted) == (0, 1, 1)
    assert stored(applied, "movie_stats", MOVIE_COLUMNS) == [(1, "A", 9, at(0)), (2, "b", 3, at(0))]


def test_empty_rows_delete_the_slice(applied: FeatureStore) -> None:
    applied.write_offline(
        "movie_stats", movies((1, "a", 1, at(0)), (1, "a", 2, at(1)), (2, "b", 3, at(1)))
    )
    result = applied.replace_offline("movie_stats", movies(), at_day(at(1)))
    assert result == ReplaceResult("movie_stats", "movie_stats__v1", 0, 0, 2, 1)
    assert stored(applied, "movie_stats", MOVIE_COLUMNS) == [(1, "a", 1, at(0))]


def test_nothing_to_change_commits_nothing(applied: FeatureStore) -> None:
    result = applied.replace_offline("movie_stats", movies(), at_day(at(0)))
    assert result == ReplaceResult("movie_stats", "movie_stats__v1", 0, 0, 0, None)
    applied.write_offline("movie_stats", movies((1, "a", 1, at(0))))
    result = applied.replace_offline("movie_stats", movies(), at_day(at(5)))
    assert result == ReplaceResult("movie_stats", "movie_stats__v1", 0, 0, 0, 0)
    assert version(applied, "movie_stats") == 0


def test_new_table_and_untouched_slice_are_plain_appends(applied: FeatureStore) -> None:
    result = applied.replace_offline(
        "movie_stats", movies((1, "a", 1, at(0)), (2, "b", 2, at(0))), at_day(at(0))
    )
    assert result == ReplaceResult("movie_stats", "movie_stats__v1", 2, 0, 0, 0)
    # A new snapshot: nothing stored falls in its slice, so it is appended, not merged.
    result = applied.replace_offline("movie_stats", movies((1, "a", 3, at(1))), at_day(at(1)))
    assert result == ReplaceResult("movie_stats", "movie_stats__v1", 1, 0, 0, 1)
    assert last_operation(applied, "movie_stats") == "WRITE"
    assert stored(applied, "movie_stats", MOVIE_COLUMNS) == [
        (1, "a", 1, at(0)),
        (1, "a", 3, at(1)),
        (2, "b", 2, at(0)),
    ]


def test_repeated_identities_are_refused(applied: FeatureStore) -> None:
    applied.write_offline("movie_stats", movies((1, "a", 1, at(0))))
    new = movies((1, "a", 1, at(0)), (2, "b", 2, at(0)), (2, "c", 3, at(0)))
    with pytest.raises(SchemaMismatchError) as error:
        applied.replace_offline("movie_stats", new, at_day(at(0)))
    text = str(error.value)
    assert "'movie_stats'" in text and "nothing was written" in text
    assert "movie_id=2" in text
    assert version(applied, "movie_stats") == 0
    assert stored(applied, "movie_stats", MOVIE_COLUMNS) == [(1, "a", 1, at(0))]


def test_mismatched_rows_are_refused(applied: FeatureStore) -> None:
    applied.write_offline("movie_stats", movies((1, "a", 1, at(0))))
    calls: list[int] = []

    def in_slice(ids: pl.LazyFrame) -> pl.LazyFrame:
        calls.append(1)
        return ids

    bad = movies((1, "a", 1, at(0))).drop(columns=["title"]).assign(extra=1)
    with pytest.raises(SchemaMismatchError) as error:
        applied.replace_offline("movie_stats", bad, in_slice)
    assert "missing column 'title'" in str(error.value)
    assert "unexpected column 'extra'" in str(error.value)
    assert calls == []  # checked before anything is read
    assert version(applied, "movie_stats") == 0
    assert applied.read_offline("movie_stats").num_rows == 1


def test_in_slice_must_return_identities(applied: FeatureStore) -> None:
    applied.write_offline("movie_stats", movies((1, "a", 1, at(0))))
    with pytest.raises(
        CinefeatError, match=r"lacks the identity column\(s\) \['event_timestamp'\]"
    ):
        applied.replace_offline(
            "movie_stats", movies(), lambda ids: ids.select("movie_id").unique()
        )
    with pytest.raises(CinefeatError, match="must return a Polars LazyFrame"):
        applied.replace_offline("movie_stats", movies(), lambda ids: None)  # type: ignore[arg-type,return-value]
    assert version(applied, "movie_stats") == 0


def test_replacing_after_a_field_was_added(applied: FeatureStore, movie: Entity) -> None:
    applied.write_offline("movie_stats", movies((1, "a", 1, at(0)), (2, "b", 2, at(1))))
    view = applied.get_feature_view("movie_stats")
    wider = FeatureView("movie_stats", [movie], [*view.schema, Field("popularity", Float64)])
    assert not applied.apply([wider]).breaking
    new = movies((2, "B", 3, at(1)), (3, "c", 4, at(1))).assign(popularity=[0.5, 0.25])
    result = applied.replace_offline("movie_stats", new, at_day(at(1)))
    assert (result.inserted, result.updated, result.deleted) == (1, 1, 0)
    assert stored(applied, "movie_stats", ["movie_id", "title", "popularity", TS]) == [
        (1, "a", None, at(0)),  # written before the field existed
        (2, "B", 0.5, at(1)),
        (3, "c", 0.25, at(1)),
    ]
    # The MERGE's delete flag never reaches the table.
    path = applied.offline_store.table_path(applied.get_feature_view("movie_stats"))
    columns = [f.name for f in DeltaTable(str(path)).schema().fields]
    assert columns == ["movie_id", "title", "rating_count", TS, "created_timestamp", "popularity"]


def test_added_field_on_a_plain_append(applied: FeatureStore, movie: Entity) -> None:
    applied.write_offline("movie_stats", movies((1, "a", 1, at(0))))
    view = applied.get_feature_view("movie_stats")
    wider = FeatureView("movie_stats", [movie], [*view.schema, Field("popularity", Float64)])
    applied.apply([wider])
    new = movies((1, "a", 2, at(1))).assign(popularity=[0.5])
    result = applied.replace_offline("movie_stats", new, at_day(at(1)))
    assert (result.inserted, result.delta_version) == (1, 1)
    assert stored(applied, "movie_stats", ["movie_id", TS, "popularity"]) == [
        (1, at(0), None),
        (1, at(1), 0.5),
    ]


def test_file_source_views_are_refused(store: FeatureStore, tmp_path: Path) -> None:
    view = FeatureView(
        "ext",
        [Entity("movie", ["movie_id"])],
        [Field("movie_id", Int64), Field("title", String)],
        source=FileSource(str(tmp_path / "ext.parquet")),
    )
    store.apply([view])
    with pytest.raises(CinefeatError, match="reads the FileSource"):
        store.replace_offline("ext", movies(), at_day(at(0)))
