"""Feature importance with known answers: a label built from one planted feature (and a weaker
second one) ranks the planted feature first and pure noise last by every score, with the
permutation drop, mutual information and gain near their closed forms."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import pytest
from matplotlib.figure import Figure

from cinefeat import CinefeatError
from cinefeat.quality import FeatureImportance, ImportanceResult, feature_importance

T0 = datetime(2024, 3, 1, tzinfo=UTC)
N = 4_000
NOISE = ["noise_0", "noise_1", "noise_2", "noise_3"]
# label = 3 * planted + 1 * weak + 0.3 * e, every input standard normal and independent, so
# var(label) = 9 + 1 + 0.09.
VAR_Y = 9 + 1 + 0.09


def planted(n: int = N, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    columns = {name: rng.normal(size=n) for name in ["planted", "weak", *NOISE]}
    label = 3 * columns["planted"] + 1 * columns["weak"] + 0.3 * rng.normal(size=n)
    times = [T0 + timedelta(minutes=i) for i in range(n)]
    return pl.DataFrame({"user_id": np.arange(n), **columns, "y": label, "event_timestamp": times})


@pytest.fixture(scope="module")
def regression() -> ImportanceResult:
    return feature_importance(planted(), "y", exclude=["user_id"])


def test_the_planted_feature_ranks_first_and_noise_last(regression: ImportanceResult) -> None:
    result = regression
    assert result.task == "regression" and result.metric == "r2" and result.model == "lightgbm"
    assert result.ranking[:2] == ["planted", "weak"]
    assert set(result.ranking[2:]) == set(NOISE)
    assert [f.rank for f in result.features] == [1, 2, 3, 4, 5, 6]
    by_mi = sorted(result.features, key=lambda f: -(f.mutual_info or 0.0))
    by_gain = sorted(result.features, key=lambda f: -(f.gain or 0.0))
    assert [f.feature for f in by_mi][:2] == ["planted", "weak"]
    assert [f.feature for f in by_gain][:2] == ["planted", "weak"]
    assert result.validation_score > 0.98  # the best possible R² is 1 - 0.09 / 10.09 = 0.991


def test_the_scores_match_their_closed_forms(regression: ImportanceResult) -> None:
    # Shuffling x in y = a x + ... adds a(x - x') to the error, of variance 2a²: R² drops by
    # 2a² / var(y).
    assert regression["planted"].permutation_mean == pytest.approx(2 * 9 / VAR_Y, abs=0.1)
    assert regression["weak"].permutation_mean == pytest.approx(2 * 1 / VAR_Y, abs=0.03)
    # Jointly Gaussian: I(x; y) = -ln(1 - rho²) / 2 with rho² = a² / var(y).
    assert regression["planted"].mutual_info == pytest.approx(
        -0.5 * math.log(1 - 9 / VAR_Y), abs=0.08
    )
    assert regression["weak"].mutual_info == pytest.approx(-0.5 * math.log(1 - 1 / VAR_Y), abs=0.03)
    # Split gain is squared-error reduction: shared 9 : 1 between the two signals.
    assert regression["planted"].gain == pytest.approx(0.9, abs=0.03)
    assert regression["weak"].gain == pytest.approx(0.1, abs=0.03)
    for name in NOISE:
        noise = regression[name]
        assert abs(noise.permutation_mean) < 0.01 and noise.permutation_std < 0.01
        assert noise.mutual_info is not None and noise.mutual_info < 0.03
        assert noise.gain is not None and noise.gain < 0.01
    assert sum(f.gain or 0.0 for f in regression.features) == pytest.approx(1.0)


def test_hist_gradient_boosting_ranks_the_same_and_has_no_gain() -> None:
    result = feature_importance(planted(), "y", exclude=["user_id"], model="hist_gb")
    assert result.model == "hist_gb"
    assert result.ranking[:2] == ["planted", "weak"] and set(result.ranking[2:]) == set(NOISE)
    assert result["planted"].permutation_mean == pytest.approx(2 * 9 / VAR_Y, abs=0.1)
    assert all(f.gain is None for f in result.features)
    assert any("does not report split gain" in note for note in result.notes)


@pytest.mark.parametrize("model", ["lightgbm", "hist_gb"])
def test_binary_classification(model: Literal["lightgbm", "hist_gb"]) -> None:
    frame = planted()
    rng = np.random.default_rng(5)
    # A boolean label: the sign of the same mix, with a few flips.
    score = 3 * frame["planted"].to_numpy() + frame["weak"].to_numpy()
    frame = frame.with_columns(clicked=pl.Series(score + 0.3 * rng.normal(size=N) > 0))
    result = feature_importance(frame.drop("y"), "clicked", exclude=["user_id"], model=model)
    assert result.task == "classification" and result.metric == "roc_auc"
    assert result.classes == ("False", "True")
    assert result.validation_score > 0.97
    assert result.ranking[:2] == ["planted", "weak"] and set(result.ranking[2:]) == set(NOISE)
    assert max(abs(result[name].permutation_mean) for name in NOISE) < 0.01


def test_multiclass_text_label_and_categorical_features() -> None:
    frame = planted()
    rng = np.random.default_rng(6)
    genre = rng.choice(["comedy", "drama", "horror", "sci-fi"], N)
    effect = {"comedy": -2.0, "drama": 0.0, "horror": 2.0, "sci-fi": 0.0}
    signal = np.array([effect[g] for g in genre]) + 0.5 * frame["weak"].to_numpy()
    tier = np.where(signal < -1, "low", np.where(signal > 1, "high", "mid"))
    frame = frame.with_columns(genre=pl.Series(genre), tier=pl.Series(tier), adult=genre == "drama")
    result = feature_importance(frame.drop("y"), "tier", exclude=["user_id"], n_repeats=3)
    assert result.task == "classification" and result.metric == "accuracy"
    assert result.classes == ("high", "low", "mid")  # codes in sorted order
    assert result["genre"].kind == "categorical" and result["adult"].kind == "boolean"
    assert result.ranking[:2] == ["genre", "weak"]
    assert result["genre"].mutual_info is not None and result["genre"].mutual_info > 0.5
    assert "planted" in result.ranking[-5:]  # unrelated to the tier here


def test_list_struct_and_empty_columns_are_skipped_with_reasons() -> None:
    frame = planted(600).with_columns(
        genre_ids=pl.Series([[1, 2]] * 600),
        credits=pl.struct(a=pl.lit(1), b=pl.lit("x")),
        nothing=pl.lit(None, dtype=pl.Float64),
        all_nan=pl.lit(float("nan")),
    )
    result = feature_importance(frame, "y", exclude=["user_id"], n_repeats=2)
    assert set(result.skipped) == {"genre_ids", "credits", "nothing", "all_nan"}
    assert result.skipped["genre_ids"].startswith("list column")
    assert result.skipped["credits"].startswith("struct column")
    assert result.skipped["nothing"] == "every value is null or NaN"
    assert result.ranking[0] == "planted" and len(result.features) == 6


def test_rows_without_a_label_are_dropped_and_counted() -> None:
    frame = planted(1_000)
    y = frame["y"].to_numpy().copy()
    y[::20] = np.nan  # 50 NaN labels
    labels = pl.Series("y", y).fill_nan(None).to_list()
    labels[1::50] = [None] * 20  # 20 nulls, at rows not already NaN
    result = feature_importance(frame.with_columns(y=pl.Series(labels)), "y", n_repeats=2)
    assert result.rows_dropped == 70
    assert result.rows_used == 930
    assert result.train_rows + result.validation_rows == 930
    assert result.validation_rows == round(930 * 0.25)
    assert "user_id" in result.ranking  # not excluded here: an id is just another column


def test_the_latest_rows_are_held_out() -> None:
    # Early rows follow y = 3a, the latest quarter y = 3b. Trained on the early rows only, the
    # model predicts 3a where the truth is 3b: the error has variance 18 against var(y) = 9,
    # so R² = 1 - 18 / 9 = -1. A random split mixes both regimes into training.
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=N), rng.normal(size=N)
    late = np.arange(N) >= 3 * N // 4
    frame = pl.DataFrame(
        {
            "a": a,
            "b": b,
            "y": np.where(late, 3 * b, 3 * a),
            "event_timestamp": [T0 + timedelta(hours=i) for i in range(N)],
        }
    ).sample(fraction=1.0, shuffle=True, seed=4)  # row order is not time order
    by_time = feature_importance(frame, "y", n_repeats=2)
    assert by_time.split == "time" and by_time.split_column == "event_timestamp"
    assert by_time.validation_rows == N // 4
    assert by_time.holdout_start == (T0 + timedelta(hours=3 * N // 4)).isoformat()
    assert by_time.validation_score == pytest.approx(-1.0, abs=0.2)
    assert by_time.ranking[0] == "a"  # what the model learned, scored on rows that need b

    at_random = feature_importance(frame, "y", n_repeats=2, time_column=None)
    assert at_random.split == "random" and at_random.split_column is None
    assert at_random.holdout_start is None and at_random.validation_score > 0.5


def test_without_the_time_column_the_split_is_random_and_says_so() -> None:
    result = feature_importance(planted(800).drop("event_timestamp"), "y", n_repeats=2)
    assert result.split == "random"
    assert result.notes == ("no 'event_timestamp' column: held out a random 25%",)


def test_pandas_arrow_and_polars_give_the_same_result() -> None:
    frame = planted(1_000)
    results = [
        feature_importance(data, "y", exclude=["user_id"], n_repeats=2).to_dict()
        for data in (frame, frame.to_pandas(), frame.to_arrow())
    ]
    for body in results:
        body.pop("created_at")
    assert results[0] == results[1] == results[2]


def test_to_dict_and_from_dict_round_trip(regression: ImportanceResult) -> None:
    body = json.loads(json.dumps(regression.to_dict(), allow_nan=False))
    assert ImportanceResult.from_dict(body) == regression
    undefined = ImportanceResult(
        "y", "regression", "hist_gb", "r2", math.nan, 10,
        (FeatureImportance("x", math.nan, 0.0, None, None, 1),),
    )  # fmt: skip
    body = undefined.to_dict()
    assert body["validation_score"] is None and body["features"][0]["permutation_mean"] is None
    json.dumps(body, allow_nan=False)  # storable: the registry refuses NaN
    back = ImportanceResult.from_dict(body)
    assert math.isnan(back.validation_score) and math.isnan(back.features[0].permutation_mean)


def test_to_polars(regression: ImportanceResult) -> None:
    table = regression.to_polars()
    assert table.columns == [
        "rank", "feature", "kind", "permutation_mean", "permutation_std", "mutual_info", "gain",
    ]  # fmt: skip
    assert table["feature"].to_list() == regression.ranking
    assert table["rank"].to_list() == [1, 2, 3, 4, 5, 6]


def test_plot_writes_a_png(regression: ImportanceResult, tmp_path: Path) -> None:
    figure = regression.figure()
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 3  # permutation, mutual information, gain
    written = regression.plot(tmp_path / "importance.png")
    data = written.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000
    no_gain = ImportanceResult.from_dict({**regression.to_dict(), "model": "hist_gb"})
    no_gain = ImportanceResult.from_dict(
        {**no_gain.to_dict(), "features": [{**f.to_dict(), "gain": None} for f in no_gain.features]}
    )
    assert len(no_gain.figure().axes) == 2


def test_bad_input_is_refused_with_a_clear_message() -> None:
    frame = planted(200)
    with pytest.raises(CinefeatError, match="label column 'rating' is not in the training set"):
        feature_importance(frame, "rating")
    with pytest.raises(CinefeatError, match=r"features \['nope'\] are not in the training set"):
        feature_importance(frame, "y", ["planted", "nope"])
    with pytest.raises(CinefeatError, match="features include the label 'y'"):
        feature_importance(frame, "y", ["planted", "y"])
    with pytest.raises(CinefeatError, match="model must be 'lightgbm' or 'hist_gb'"):
        feature_importance(frame, "y", model="xgboost")  # type: ignore[arg-type]
    with pytest.raises(CinefeatError, match="validation_fraction must be between 0 and 1"):
        feature_importance(frame, "y", validation_fraction=1.0)
    with pytest.raises(CinefeatError, match="has 5 non-null rows; importance needs at least 10"):
        feature_importance(frame.head(5), "y")
    with pytest.raises(CinefeatError, match="label 'title' holds String values; regression"):
        feature_importance(frame.with_columns(title=pl.lit("x")), "title", task="regression")
    with pytest.raises(CinefeatError, match="one value"):
        feature_importance(frame.with_columns(flag=pl.lit(True)), "flag")


def test_high_cardinality_text_is_used_as_codes_with_a_note() -> None:
    frame = planted(1_000).with_columns(title=pl.format("movie {}", pl.col("user_id")))
    result = feature_importance(frame, "y", exclude=["user_id"], n_repeats=2)
    assert result["title"].kind == "codes"
    assert any(note.startswith("title: more than 255 distinct values") for note in result.notes)
