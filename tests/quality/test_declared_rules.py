"""Rules declared on Fields and Views: checked by FeatureValidator with a view, stored in the
registry with the view (a rule change is a compatible update), SQL custom rules with CHECK
semantics, and per-row failures (first failing rule per row) for quarantine."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cinefeat import DefinitionError, Entity, FeatureView, Field
from cinefeat.definitions import (
    AllowedValues,
    Custom,
    InRange,
    Matches,
    NotNull,
    Unique,
    rule_from_spec,
)
from cinefeat.quality import FeatureValidator
from cinefeat.registry import Registry
from cinefeat.types import Float64, Int64, String

MOVIE = Entity("movie", ["movie_id"])


def movie_stats(**kwargs: object) -> FeatureView:
    return FeatureView(
        "movie_stats",
        [MOVIE],
        [
            Field("movie_id", Int64, rules=[Unique()]),
            Field("rating", Float64, rules=[InRange(min=0, max=10), NotNull()]),
            Field("language", String, rules=[AllowedValues(values=["en", "fr"])]),
            Field("imdb_id", String, rules=[Matches(pattern=r"^tt\d{7}$")]),
            Field("budget", Float64),
        ],
        **kwargs,  # type: ignore[arg-type]
    )


def frame() -> pl.DataFrame:
    # Row 1: rating 11 (range). Row 2: rating null (not null) and language "de". Row 3:
    # duplicate movie_id 1 and a bad imdb id. Row 4: budget -5 (the view's SQL rule).
    return pl.DataFrame(
        {
            "movie_id": [1, 2, 3, 1, 5],
            "rating": [5.0, 11.0, None, 7.0, 8.0],
            "language": ["en", "fr", "de", "en", "fr"],
            "imdb_id": ["tt0000001", "tt0000002", "tt0000003", "tt12", "tt0000005"],
            "budget": [1.0, 2.0, 3.0, None, -5.0],
        }
    )


def test_field_rules_take_the_field_column() -> None:
    view = movie_stats()
    assert view.field("rating").rules == (InRange("rating", 0, 10), NotNull("rating"))
    with pytest.raises(DefinitionError, match="names column 'other'"):
        Field("rating", Float64, rules=[InRange("other", 0, 1)])
    with pytest.raises(DefinitionError, match="not in the schema"):
        movie_stats(rules=[InRange("nope", 0, 1)])
    with pytest.raises(DefinitionError, match="min 5 is greater than max 1"):
        InRange("x", 5, 1)
    with pytest.raises(DefinitionError, match="pattern"):
        Matches("x", "(")
    with pytest.raises(DefinitionError, match="rule must be one of"):
        rule_from_spec({"rule": "between"})


def test_validator_with_a_view_checks_field_and_view_rules_per_row() -> None:
    view = movie_stats(rules=[Custom(name="budget not negative", expression="budget >= 0")])
    report = FeatureValidator().validate_features(frame(), view)
    failed = {r.rule: r.failing_rows for r in report.failed()}
    assert failed == {
        "movie_id is unique": 2,  # pandera flags both copies of movie_id 1
        "rating in [0, 10]": 1,
        "rating is not null": 1,
        "language in ['en', 'fr']": 1,
        r"imdb_id matches /^tt\d{7}$/": 1,
        "row: budget not negative (budget >= 0)": 1,  # the null budget passes, as in SQL
    }
    failures = report.row_failures()
    assert dict(failures.iter_rows()) == {
        0: "movie_id is unique",
        1: "rating in [0, 10]",
        2: "rating is not null",
        3: "movie_id is unique",
        4: "row: budget not negative (budget >= 0)",
    }


def test_a_broken_expression_fails_its_rule_without_raising() -> None:
    view = movie_stats(rules=[Custom(name="typo", expression="budgett >= 0")])
    report = FeatureValidator().validate_features(frame(), view)
    typo = next(r for r in report.results if r.rule.startswith("row: typo"))
    assert not typo.passed and "cannot be evaluated" in typo.message


def test_rules_are_stored_with_the_view_and_changing_them_is_compatible(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}", "proj")
    registry.apply([MOVIE, movie_stats()])
    stored = registry.get_feature_view("movie_stats")
    assert stored.field("rating").rules == (InRange("rating", 0, 10), NotNull("rating"))
    stricter = movie_stats(rules=[Custom(name="budget not negative", expression="budget >= 0")])
    diff = registry.apply([MOVIE, stricter])
    change = next(c for c in diff.changes if c.name == "movie_stats")
    assert (change.change, change.breaking, change.reasons) == ("update", False, ("rules changed",))
    assert registry.get_feature_view("movie_stats").version == 1
    assert registry.get_feature_view("movie_stats").rules == stricter.rules
    # A pandera check is code: it cannot be stored with the view.
    with pytest.raises(DefinitionError, match="cannot be stored"):
        registry.apply([MOVIE, movie_stats(rules=[Custom("budget", "code", check=object())])])


def test_views_without_rules_keep_their_old_spec() -> None:
    spec = FeatureView("v", [MOVIE], [Field("movie_id", Int64), Field("x", Float64)]).to_spec()
    assert "rules" not in spec and all("rules" not in f for f in spec["schema"])


def test_unique_lets_nulls_pass() -> None:
    report = FeatureValidator([Unique("x")]).validate_features(
        pl.DataFrame({"x": [1, None, None, 2, 2]})
    )
    (result,) = report.results
    assert result.failing_rows == 2 and list(result.row_index) == [3, 4]  # type: ignore[arg-type]


def test_a_rule_that_cannot_apply_is_refused_where_it_is_written() -> None:
    from cinefeat.types import Array

    with pytest.raises(
        DefinitionError, match="InRange needs a number column, 'language' is String"
    ):
        Field("language", String, rules=[InRange(min=0)])
    with pytest.raises(DefinitionError, match="Matches needs a String column"):
        movie_stats(rules=[Matches("budget", "^1")])
    with pytest.raises(DefinitionError, match="a list column takes only NotNull and Custom"):
        Field("genres", Array(Int64), rules=[Unique()])
    Field("genres", Array(Int64), rules=[NotNull(max_null_rate=0.5)])  # fine


def test_a_rule_that_cannot_be_checked_on_the_data_says_why() -> None:
    import pandera.polars as pa

    frame = pl.DataFrame({"x": [1, 2, 3], "t": ["tt1", "tt2", "a"]})
    rules = [
        InRange("t", 0, 1),  # text: no range
        Matches("x", "^1"),  # numbers: no pattern
        Matches("t", "^(?!tt0)tt"),  # look-ahead: Python's re has it, Polars' regex does not
        Custom("x", "at least 2", check=pa.Check.ge(2)),
        Custom("x", "at least 2", check=pa.Check.ge(3)),  # same name, another check
    ]
    results = FeatureValidator(rules).validate_features(frame).results
    messages = [r.message for r in results]
    assert messages[0] == "cannot be checked: InRange needs numbers, t is String"
    assert messages[1] == "cannot be checked: Matches needs text, x is Int64"
    assert (
        messages[2].startswith("cannot be checked: ComputeError") and "look-around" in messages[2]
    )
    assert all(r.row_index is None for r in results[:3])
    assert [r.failing_rows for r in results[3:]] == [1, 2]  # each Custom check its own result


def test_plan_names_a_field_rule_change(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}", "proj")
    registry.apply([MOVIE, movie_stats()])
    stricter = FeatureView(
        "movie_stats",
        [MOVIE],
        [
            Field("movie_id", Int64, rules=[Unique()]),
            Field("rating", Float64, rules=[InRange(min=1, max=10), NotNull()]),
            Field("language", String, rules=[AllowedValues(values=["en", "fr"])]),
            Field("imdb_id", String, rules=[Matches(pattern=r"^tt\d{7}$")]),
            Field("budget", Float64),
        ],
    )
    (change,) = [c for c in registry.plan([MOVIE, stricter]).changes if c.name == "movie_stats"]
    assert change.reasons == ("field 'rating' rules changed",) and not change.breaking
