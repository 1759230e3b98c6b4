"""ABTestFramework end to end on a real repo: a treatment adding a truly informative feature
wins, one adding pure noise does not; results are stored and read back; bad input is refused
with messages that name the problem."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cinefeat import Entity, FeatureService, FeatureStore, FeatureView, Field
from cinefeat.errors import CinefeatError, FeatureNotFoundError
from cinefeat.quality import ABTestFramework, ExperimentResult
from cinefeat.types import Array, Float64, Int64, String

T0 = datetime(2024, 1, 1, tzinfo=UTC)
BASE = ["user_stats:user_bias", "movie_stats:popularity"]


def build_repo(path: Path, seed: int = 1) -> pl.DataFrame:
    """300 users rate 200 movies 3,000 times over 60 days. `events` (keyed by user and movie,
    stamped at the rating's time) holds `signal`, which drives the rating, and `noise`, which
    does not. Returns the entity_df: keys, event_timestamp, `rating` (0.5-5) and `liked`."""
    rng = np.random.default_rng(seed)
    path.mkdir()
    (path / "cinefeat.yaml").write_text("project: ab\n")
    user, movie = Entity("user", ["user_id"]), Entity("movie", ["movie_id"])
    user_stats = FeatureView(
        "user_stats",
        [user],
        [Field("user_id", Int64), Field("user_bias", Float64), Field("genres", Array(Int64))],
    )
    movie_stats = FeatureView(
        "movie_stats",
        [movie],
        [Field("movie_id", Int64), Field("popularity", Float64), Field("language", String)],
    )
    events = FeatureView(
        "events",
        [user, movie],
        [
            Field("user_id", Int64),
            Field("movie_id", Int64),
            Field("signal", Float64),
            Field("noise", Float64),
        ],
    )
    base = FeatureService("base", [user_stats[["user_bias"]], movie_stats[["popularity"]]])
    bias, popularity = rng.normal(0, 0.5, 300), rng.normal(0, 1, 200)
    before = T0 - timedelta(days=1)
    users, movies = rng.integers(0, 300, 3_000), rng.integers(0, 200, 3_000)
    times = [T0 + timedelta(seconds=float(s)) for s in rng.uniform(0, 60 * 86_400, 3_000)]
    signal = rng.normal(0, 1, 3_000)
    rating = 3 + signal + bias[users] + 0.3 * popularity[movies] + rng.normal(0, 0.8, 3_000)
    with FeatureStore(path) as store:
        store.apply([user, movie, user_stats, movie_stats, events, base])
        store.write_offline(
            "user_stats",
            pl.DataFrame(
                {
                    "user_id": np.arange(300),
                    "user_bias": bias,
                    "genres": [[1, 2]] * 300,
                    "event_timestamp": [before] * 300,
                }
            ),
        )
        store.write_offline(
            "movie_stats",
            pl.DataFrame(
                {
                    "movie_id": np.arange(200),
                    "popularity": popularity,
                    "language": rng.choice(["en", "fr", "ja"], 200),
                    "event_timestamp": [before] * 200,
                }
            ),
        )
        store.write_offline(
            "events",
            pl.DataFrame(
                {
                    "user_id": users,
                    "movie_id": movies,
                    "signal": signal,
                    "noise": rng.normal(0, 1, 3_000),
                    "event_timestamp": times,
                }
            ),
        )
    rating = np.clip(rating, 0.5, 5.0)
    return pl.DataFrame(
        {
            "user_id": users,
            "movie_id": movies,
            "event_timestamp": times,
            "rating": rating,
            "liked": (rating > 3.5).astype(np.int64),
        }
    )


@pytest.fixture(scope="module")
def ratings_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame]:
    path = tmp_path_factory.mktemp("ab") / "repo"
    return path, build_repo(path)


@pytest.fixture
def ab(ratings_repo: tuple[Path, pl.DataFrame]) -> Iterator[ABTestFramework]:
    with FeatureStore(ratings_repo[0]) as store:
        framework = ABTestFramework(store)
        for experiment in framework.list_experiments():  # each test starts without any
            store.registry.quality_records().delete_documents(
                "experiment", experiment.experiment_id
            )
        yield framework


@pytest.fixture
def ratings(ratings_repo: tuple[Path, pl.DataFrame]) -> pl.DataFrame:
    return ratings_repo[1]


def test_an_informative_feature_wins_and_the_result_is_stored(
    ab: ABTestFramework, ratings: pl.DataFrame
) -> None:
    experiment_id = ab.create_experiment(
        "signal", BASE, [*BASE, "events:signal"], label="rating", metric="rmse"
    )
    assert experiment_id.startswith("exp-") and len(experiment_id) == 16
    result = ab.run_experiment(experiment_id, ratings)
    assert result.decision == "treatment" and result.winner == "treatment"
    assert result.p_value < 1e-6
    assert result.effect == pytest.approx(result.treatment_metric - result.control_metric)
    assert result.effect < -0.3 and result.ci_low < result.effect < result.ci_high < 0
    assert result.effect_size < -0.5  # Cohen's dz, signed like the effect
    assert len(result.folds) == 5
    assert all(f.treatment < f.control for f in result.folds)
    assert result.n_rows == 3_000
    assert result.n_test_rows == sum(f.test_rows for f in result.folds)
    assert 850 <= result.n_test_rows <= 950  # the last 30% of rows in time
    assert result.n_users == sum(f.test_users for f in result.folds)
    assert result.test == "paired t-test" and result.confidence == 0.95
    assert result.treatment_features == (*BASE, "events:signal")

    assert ab.get_result(experiment_id) == result  # stored, read back exactly
    again = ab.run_experiment(experiment_id, ratings)
    assert (again.p_value, again.effect, again.ci_low) == (
        result.p_value,
        result.effect,
        result.ci_low,
    )  # seeded: the same numbers
    assert ab.get_result(experiment_id) == again
    assert [r.created_at for r in ab.result_history(experiment_id)] == [
        again.created_at,
        result.created_at,
    ]
    assert ExperimentResult.from_dict(result.to_dict()) == result


def test_noise_does_not_win(ab: ABTestFramework, ratings: pl.DataFrame) -> None:
    experiment_id = ab.create_experiment(
        "noise", BASE, [*BASE, "events:noise"], label="rating", metric="rmse"
    )
    result = ab.run_experiment(experiment_id, ratings)
    assert result.decision in ("inconclusive", "control")
    assert result.p_value > 0.05
    assert result.ci_low < 0 < result.ci_high


def test_auc_with_a_service_as_control(ab: ABTestFramework, ratings: pl.DataFrame) -> None:
    experiment_id = ab.create_experiment(
        "liked", "base", [*BASE, "events:signal", "movie_stats:language"], "liked", "auc"
    )
    spec = ab.get_experiment(experiment_id)
    assert spec.control.service == "base" and spec.control.refs == tuple(BASE)
    result = ab.run_experiment(experiment_id, ratings)
    assert result.decision == "treatment" and result.p_value < 1e-6
    assert 0 < result.ci_low < result.effect < result.ci_high
    assert 0.5 < result.control_metric < result.treatment_metric < 1


def test_ndcg_with_histogram_gradient_boosting(ab: ABTestFramework, ratings: pl.DataFrame) -> None:
    informative = ab.create_experiment(
        "rank", BASE, [*BASE, "events:signal"], "rating", "ndcg", model="hist_gb", ndcg_k=5
    )
    result = ab.run_experiment(informative, ratings)
    assert result.decision == "treatment" and result.effect > 0 and result.ci_low > 0
    noise = ab.create_experiment(
        "rank-noise", BASE, [*BASE, "events:noise"], "rating", "ndcg", model="hist_gb"
    )
    assert ab.run_experiment(noise, ratings).decision in ("inconclusive", "control")
    listed = {e.name: e for e in ab.list_experiments()}
    assert listed["rank"].decision == "treatment" and listed["rank"].mode == "offline"
    assert listed["rank-noise"].created_at >= listed["rank"].created_at


def test_figure_shows_folds_and_the_interval(ab: ABTestFramework, ratings: pl.DataFrame) -> None:
    experiment_id = ab.create_experiment("fig", BASE, [*BASE, "events:signal"], "rating", folds=3)
    result = ab.run_experiment(experiment_id, ratings)
    figure = result.figure()
    per_fold, delta = figure.axes
    assert [line.get_label() for line in per_fold.get_lines()[:2]] == ["control", "treatment"]
    assert list(per_fold.get_lines()[0].get_ydata()) == [f.control for f in result.folds]
    assert delta.get_ylim()[0] <= result.ci_low and result.ci_high <= delta.get_ylim()[1]
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")


def test_create_refuses_bad_definitions(ab: ABTestFramework) -> None:
    with pytest.raises(FeatureNotFoundError, match="treatment features: .* no feature 'nope'"):
        ab.create_experiment("x", BASE, [*BASE, "events:nope"], "rating")
    with pytest.raises(FeatureNotFoundError, match="control features: .*service 'missing'"):
        ab.create_experiment("x", "missing", BASE, "rating")
    with pytest.raises(CinefeatError, match="the same features as the control"):
        ab.create_experiment("x", BASE, list(reversed(BASE)), "rating")
    with pytest.raises(CinefeatError, match=r"\['user_stats:genres'\] are arrays"):
        ab.create_experiment("x", BASE, [*BASE, "user_stats:genres"], "rating")
    with pytest.raises(CinefeatError, match="metric must be one of .* got 'mae'.*folds must"):
        ab.create_experiment("x", BASE, [*BASE, "events:signal"], "rating", "mae", folds=1)
    ab.create_experiment("taken", BASE, [*BASE, "events:signal"], "rating")
    with pytest.raises(CinefeatError, match="an experiment named 'taken' already exists"):
        ab.create_experiment("taken", BASE, [*BASE, "events:noise"], "rating")
    assert [e.name for e in ab.list_experiments()] == ["taken"]  # nothing else was stored


def test_run_refuses_bad_input(ab: ABTestFramework, ratings: pl.DataFrame) -> None:
    experiment_id = ab.create_experiment("run", BASE, [*BASE, "events:signal"], "rating", "auc")
    with pytest.raises(CinefeatError, match="entity_df has no column 'rating' .*label"):
        ab.run_experiment(experiment_id, ratings.drop("rating"))
    with pytest.raises(CinefeatError, match="auc needs a 0/1"):
        ab.run_experiment(experiment_id, ratings)  # ratings are not 0/1
    with pytest.raises(CinefeatError, match="experiment 'exp-000000000000': no such experiment"):
        ab.run_experiment("exp-000000000000", ratings)
    assert ab.get_result(experiment_id) is None  # nothing ran


def test_compat_exports_the_framework() -> None:
    from cinefeat import compat

    assert compat.ABTestFramework is ABTestFramework
    assert {"ABTestFramework", "FeatureValidator"} <= set(compat.__all__)
