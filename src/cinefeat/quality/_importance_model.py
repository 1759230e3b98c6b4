"""The estimators behind feature importance: one gradient-boosting model (LightGBM or
scikit-learn's HistGradientBoosting, single-threaded and seeded), its permutation importance
and gain, and model-free mutual information."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = [
    "MAX_CATEGORIES",
    "ModelName",
    "Scores",
    "Task",
    "fit_model",
    "gain_shares",
    "metric_for",
    "mutual_information",
    "permutation_scores",
    "score",
]

ModelName = Literal["lightgbm", "hist_gb"]
Task = Literal["regression", "classification"]

N_ESTIMATORS = 100  # boosting rounds: enough to find a planted signal, cheap on one core
LEARNING_RATE = 0.1
# HistGradientBoosting's limit for a categorical feature (its max_bins); LightGBM uses the same
# so both models see the same encoding.
MAX_CATEGORIES = 255
_NEIGHBOURS = 3  # k of the Kraskov nearest-neighbour estimator (scikit-learn's default)


@dataclass(frozen=True)
class Scores:
    """Permutation importance per feature (mean and std of the metric's drop over repeats)."""

    mean: np.ndarray
    std: np.ndarray


def metric_for(task: Task, n_classes: int) -> str:
    """R² for regression, ROC AUC for two classes, accuracy for more (scikit-learn scorer
    names; all are higher-is-better, so a drop is a loss)."""
    if task == "regression":
        return "r2"
    return "roc_auc" if n_classes == 2 else "accuracy"


def _one_thread() -> Any:
    """HistGradientBoosting and the nearest-neighbour searches use OpenMP/BLAS threads; keep
    them to one so a run never competes with the host for cores (LightGBM takes n_jobs=1)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def fit_model(
    model: ModelName,
    task: Task,
    features: np.ndarray,
    label: np.ndarray,
    categorical: np.ndarray,
    seed: int,
) -> Any:
    """Fit the model on the training rows; `categorical` marks columns holding category codes
    (non-negative integers, NaN for missing)."""
    columns = [int(i) for i in np.flatnonzero(categorical)]
    if model == "lightgbm":
        import lightgbm

        options: dict[str, Any] = {
            "n_estimators": N_ESTIMATORS,
            "learning_rate": LEARNING_RATE,
            "random_state": seed,
            "n_jobs": 1,
            "verbose": -1,
            "deterministic": True,
            "force_col_wise": True,  # skips LightGBM's row/col-wise timing trial
        }
        lgbm_class = lightgbm.LGBMRegressor if task == "regression" else lightgbm.LGBMClassifier
        estimator = lgbm_class(**options)
        estimator.fit(features, label, categorical_feature=columns or "auto")
        return estimator
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    hgb_class = (
        HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    )
    estimator = hgb_class(
        max_iter=N_ESTIMATORS,
        learning_rate=LEARNING_RATE,
        random_state=seed,
        early_stopping=False,  # "auto" turns it on above 10k rows, which changes the model
        categorical_features=categorical if columns else None,
    )
    with _one_thread():
        estimator.fit(features, label)
    return estimator


def score(estimator: Any, metric: str, features: np.ndarray, label: np.ndarray) -> float:
    """The metric of the fitted model on these rows."""
    from sklearn.metrics import get_scorer

    with _one_thread():
        return float(get_scorer(metric)(estimator, features, label))


def permutation_scores(
    estimator: Any,
    metric: str,
    features: np.ndarray,
    label: np.ndarray,
    n_repeats: int,
    seed: int,
) -> Scores:
    """scikit-learn's permutation importance: for each feature and repeat, shuffle that
    column and take the metric's drop from the unshuffled score."""
    from sklearn.inspection import permutation_importance

    with _one_thread():
        found = permutation_importance(
            estimator,
            features,
            label,
            scoring=metric,
            n_repeats=n_repeats,
            random_state=seed,
            n_jobs=1,
        )
    return Scores(
        np.asarray(found.importances_mean, np.float64),
        np.asarray(found.importances_std, np.float64),
    )


def gain_shares(model: ModelName, estimator: Any) -> np.ndarray | None:
    """Each feature's share of the total split gain (LightGBM); None for HistGradientBoosting,
    which keeps no per-feature gain."""
    if model != "lightgbm":
        return None
    gains = np.asarray(estimator.booster_.feature_importance(importance_type="gain"), np.float64)
    total = gains.sum()
    shares: np.ndarray = gains / total if total > 0 else np.zeros_like(gains)
    return shares


def mutual_information(
    task: Task,
    features: np.ndarray,
    label: np.ndarray,
    discrete: np.ndarray,
    seed: int,
) -> list[float | None]:
    """Mutual information (nats) of each feature with the label, scikit-learn's Kraskov
    nearest-neighbour estimator (exact counting for discrete columns). A feature is scored on
    the rows where it has a value (the estimator refuses missing values); with fewer than
    four such rows it is None."""
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    estimate = mutual_info_regression if task == "regression" else mutual_info_classif
    present = ~np.isnan(features)
    values: list[float | None] = []
    # One call per feature, not per row: each feature has its own missing rows.
    with _one_thread():
        for column in range(features.shape[1]):
            rows = present[:, column]
            if rows.sum() <= _NEIGHBOURS:
                values.append(None)
                continue
            found = estimate(
                features[rows, column : column + 1],
                label[rows],
                discrete_features=bool(discrete[column]),
                n_neighbors=_NEIGHBOURS,
                random_state=seed,
                n_jobs=1,
            )
            values.append(max(float(found[0]), 0.0))
    return values
