"""The models an offline A/B test trains on each arm's features: feature frames to matrices
(strings to categorical codes), and seeded, single-threaded LightGBM or HistGradientBoosting
regressors and classifiers with the same hyperparameters for both arms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from cinefeat.errors import CinefeatError

__all__ = ["MODELS", "FeatureMatrix", "feature_matrix", "fit_predict"]

MODELS: tuple[str, ...] = ("lightgbm", "hist_gb")
MAX_CATEGORIES = 255  # more distinct strings than this: ordinal codes, not categories
# Modest, fixed trees: enough to pick up a real signal in a few thousand rows, few enough that
# a run of 2 arms x 5 folds takes seconds. Same values for both arms and both libraries.
TREES = 200
LEARNING_RATE = 0.05
LEAVES = 15
MIN_LEAF_ROWS = 20


@dataclass(frozen=True)
class FeatureMatrix:
    """Model inputs for one arm: float values (nulls as NaN) and which columns are categorical
    (codes 0..n-1 of the distinct strings, sorted)."""

    values: np.ndarray
    categorical: list[bool]
    names: list[str]


def _encoded(column: pl.Series, name: str) -> tuple[pl.Expr, bool]:
    dtype = column.dtype
    source = pl.col(column.name)
    if dtype == pl.Boolean or dtype.is_numeric():
        return source.cast(pl.Float64), False
    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
        categorical = column.n_unique() <= MAX_CATEGORIES
        return (source.cast(pl.String).rank("dense") - 1).cast(pl.Float64), categorical
    if isinstance(dtype, pl.Datetime):
        return source.dt.epoch("s").cast(pl.Float64), False
    if dtype == pl.Date:
        return source.cast(pl.Int32).cast(pl.Float64), False
    if isinstance(dtype, pl.Duration):
        return source.dt.total_seconds().cast(pl.Float64), False
    raise CinefeatError(
        f"feature {name} is {dtype}; an A/B test's model takes numbers, booleans, strings "
        "and times (arrays and structs cannot be model inputs)"
    )


def feature_matrix(
    frame: pl.DataFrame, columns: Sequence[str], refs: Sequence[str]
) -> FeatureMatrix:
    """Encode `columns` of the training set (named in errors by their `refs`). String codes are
    computed over every row, which sees the test rows' values but never their labels."""
    encoded = [_encoded(frame.get_column(c), ref) for c, ref in zip(columns, refs, strict=True)]
    values = frame.select(
        [expr.alias(c) for (expr, _), c in zip(encoded, columns, strict=True)]
    ).to_numpy()
    return FeatureMatrix(
        np.asarray(values, dtype=np.float64), [flag for _, flag in encoded], list(refs)
    )


def _estimator(model: str, classify: bool, categorical: list[bool], seed: int) -> Any:
    if model == "lightgbm":
        import lightgbm

        lightgbm_class = lightgbm.LGBMClassifier if classify else lightgbm.LGBMRegressor
        return lightgbm_class(
            n_estimators=TREES,
            learning_rate=LEARNING_RATE,
            num_leaves=LEAVES,
            min_child_samples=MIN_LEAF_ROWS,
            random_state=seed,
            n_jobs=1,
            deterministic=True,
            force_row_wise=True,  # LightGBM asks for a fixed layout with deterministic=True
            verbose=-1,
        )
    if model == "hist_gb":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        sklearn_class = (
            HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        )
        return sklearn_class(
            max_iter=TREES,
            learning_rate=LEARNING_RATE,
            max_leaf_nodes=LEAVES,
            min_samples_leaf=MIN_LEAF_ROWS,
            categorical_features=np.asarray(categorical, dtype=bool) if any(categorical) else None,
            early_stopping=False,  # a validation split would take rows and add randomness
            random_state=seed,
        )
    raise CinefeatError(f"model must be one of {list(MODELS)}, got {model!r}")


def fit_predict(
    model: str,
    classify: bool,
    features: FeatureMatrix,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    seed: int,
) -> np.ndarray:
    """Fit on the `train` rows, predict the `test` rows: the positive class's probability for
    a classifier, the value for a regressor."""
    estimator = _estimator(model, classify, features.categorical, seed)
    x_train, x_test = features.values[train], features.values[test]
    if classify and len(np.unique(y[train])) < 2:
        raise CinefeatError("AUC needs both classes among the training rows of every fold")
    from threadpoolctl import threadpool_limits

    # One thread: deterministic, and small fits on a shared machine are slower with OpenMP
    # teams fighting over cores (scikit-learn's trees ignore any n_jobs).
    with threadpool_limits(limits=1):
        if model == "lightgbm":
            categories = [i for i, flag in enumerate(features.categorical) if flag]
            estimator.fit(x_train, y[train], categorical_feature=categories or "auto")
        else:
            estimator.fit(x_train, y[train])
        if classify:
            return np.asarray(estimator.predict_proba(x_test)[:, 1], dtype=np.float64)
        return np.asarray(estimator.predict(x_test), dtype=np.float64)
