"""Which features predict a label: permutation importance of a gradient-boosting model on
held-out rows, mutual information, and model gain, computed from one training set.

The held-out rows are the latest by the time column when there is one (a model is used on
rows later than those it learned from, and a random split would let it learn from the future),
else a seeded random share. See docs/importance.md for the statistics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import polars as pl

from cinefeat.errors import CinefeatError
from cinefeat.offline import to_polars_frame
from cinefeat.quality._importance_model import (
    MAX_CATEGORIES,
    Task,
    fit_model,
    gain_shares,
    metric_for,
    mutual_information,
    permutation_scores,
    score,
)
from cinefeat.quality._importance_result import FeatureImportance, ImportanceResult

__all__ = [
    "MAX_CLASSES",
    "MIN_ROWS",
    "MUTUAL_INFO_ROWS",
    "PERMUTATION_ROWS",
    "feature_importance",
]

MIN_ROWS = 10  # labelled rows below which no split leaves enough to learn from and to score
MAX_CLASSES = 50  # more distinct labels than this is almost surely a regression target
# Shuffled copies are scored on at most this many held-out rows (a seeded sample): each
# shuffle is one prediction, so this bounds the cost while keeping the drop's noise small.
PERMUTATION_ROWS = 10_000
# The nearest-neighbour MI estimator costs about 80 µs per row per feature; 20k rows estimate
# MI to about ±0.01 nats.
MUTUAL_INFO_ROWS = 20_000

_SKIP_REASONS = {
    "list": "list column: importance needs one number per row; derive one (e.g. its length)",
    "array": "array column: importance needs one number per row; derive one (e.g. its mean)",
    "struct": "struct column: unnest its fields into features first",
    "binary": "binary column: not a number or a category",
    "object": "object column: not a number or a category",
    "null": "every value is null",
}


@dataclass(frozen=True)
class _Encoded:
    """The usable features as one float matrix (NaN for missing) and how each was encoded."""

    names: list[str]
    kinds: list[str]
    matrix: np.ndarray
    skipped: dict[str, str]


def _encoding(frame: pl.DataFrame, name: str) -> tuple[pl.Expr | None, str]:
    """An expression turning column `name` into Float64, and its kind (or a skip reason)."""
    dtype = frame.schema[name]
    column = pl.col(name)
    if dtype == pl.Boolean:
        return column.cast(pl.Float64), "boolean"
    if dtype.is_float():
        # scikit-learn refuses infinities, and no split threshold can use them: missing.
        return pl.when(column.is_infinite()).then(None).otherwise(column), "numeric"
    if dtype.is_numeric():
        return column.cast(pl.Float64), "numeric"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        text = column.cast(pl.String)
        # Codes in sorted order, so the same values always get the same codes.
        codes = (text.rank("dense") - 1).cast(pl.Float64)
        distinct = frame.select(text.n_unique() - text.null_count().clip(0, 1)).item()
        return codes, "categorical" if distinct <= MAX_CATEGORIES else "codes"
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return column.dt.epoch("s").cast(pl.Float64), "time"
    if isinstance(dtype, pl.Duration):
        return column.dt.total_seconds(fractional=True).cast(pl.Float64), "time"
    if dtype == pl.Time:
        return column.to_physical().cast(pl.Float64), "time"
    kind = dtype.base_type().__name__.lower()
    return None, _SKIP_REASONS.get(kind, f"{dtype} column: not a number or a category")


def _encode(frame: pl.DataFrame, features: Sequence[str]) -> _Encoded:
    expressions: list[pl.Expr] = []
    names: list[str] = []
    kinds: list[str] = []
    skipped: dict[str, str] = {}
    for name in features:
        expression, kind = _encoding(frame, name)
        if expression is None:
            skipped[name] = kind
        else:
            expressions.append(expression.alias(name))
            names.append(name)
            kinds.append(kind)
    if not names:
        return _Encoded([], [], np.empty((frame.height, 0)), skipped)
    matrix = frame.select(expressions).to_numpy().astype(np.float64, copy=False)
    empty = np.isnan(matrix).all(axis=0)  # nulls became NaN: nothing to learn from
    for index in np.flatnonzero(empty):
        skipped[names[index]] = "every value is null or NaN"
    keep = np.flatnonzero(~empty)
    return _Encoded(
        [names[i] for i in keep],
        [kinds[i] for i in keep],
        np.ascontiguousarray(matrix[:, keep]),
        skipped,
    )


def _task(series: pl.Series, task: str) -> Task:
    """Auto: booleans, text and two-valued integers are classes; other numbers regression."""
    dtype = series.dtype
    categorical = dtype in (pl.Boolean, pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)
    if task == "regression":
        if categorical:
            raise CinefeatError(
                f"label {series.name!r} holds {dtype} values; regression needs numbers "
                "(pass task='classification')"
            )
        return "regression"
    if task == "classification":
        return "classification"
    if categorical or (dtype.is_integer() and series.n_unique() <= 2):
        return "classification"
    if dtype.is_numeric():
        return "regression"
    raise CinefeatError(f"label {series.name!r} holds {dtype} values: not a number or a class")


def _label_values(series: pl.Series, task: Task) -> tuple[np.ndarray, tuple[str, ...]]:
    if task == "regression":
        return series.cast(pl.Float64).to_numpy(), ()
    codes = series.rank("dense").cast(pl.Int64).to_numpy() - 1
    classes = tuple(str(v) for v in series.unique().sort().to_list())
    if len(classes) < 2:
        raise CinefeatError(
            f"label {series.name!r} has one value ({classes[0]!r}) in every labelled row; "
            "classification needs at least two"
        )
    if len(classes) > MAX_CLASSES:
        raise CinefeatError(
            f"label {series.name!r} has {len(classes)} distinct values, more than "
            f"{MAX_CLASSES} classes; pass task='regression' if it is a number to predict"
        )
    return codes, classes


def _split(
    frame: pl.DataFrame, time_column: str | None, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, str | None, str | None]:
    """(train rows, held-out rows, the time column used or None, the first held-out time)."""
    n = frame.height
    held = min(max(1, round(n * fraction)), n - 1)
    if time_column is not None and time_column in frame.columns:
        times = frame[time_column]
        if not (times.dtype.is_temporal() or times.dtype.is_numeric()):
            raise CinefeatError(
                f"time column {time_column!r} holds {times.dtype} values; give a datetime "
                "column, or time_column=None for a random split"
            )
        # Stable: rows at the same time keep their order; rows without a time count as oldest.
        order = (
            frame.select(time_column)
            .with_row_index("__row")
            .sort(time_column, "__row", nulls_last=False)["__row"]
            .to_numpy()
            .astype(np.int64)
        )
        first = times[int(order[n - held])]
        start = first.isoformat() if isinstance(first, datetime) else str(first)
        return np.sort(order[: n - held]), np.sort(order[n - held :]), time_column, start
    shuffled = np.random.default_rng(seed).permutation(n)
    return np.sort(shuffled[held:]), np.sort(shuffled[:held]), None, None


def _sample(rows: np.ndarray, cap: int, seed: int) -> np.ndarray:
    if len(rows) <= cap:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, cap, replace=False))


def _check_options(model: str, task: str, n_repeats: int, validation_fraction: float) -> None:
    if model not in ("lightgbm", "hist_gb"):
        raise CinefeatError(f"model must be 'lightgbm' or 'hist_gb', got {model!r}")
    if task not in ("auto", "regression", "classification"):
        raise CinefeatError(f"task must be 'auto', 'regression' or 'classification', got {task!r}")
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, int) or n_repeats < 1:
        raise CinefeatError(f"n_repeats must be a positive integer, got {n_repeats!r}")
    if not 0.0 < validation_fraction < 1.0:
        raise CinefeatError(
            f"validation_fraction must be between 0 and 1 (exclusive), got {validation_fraction}"
        )


def _feature_list(
    frame: pl.DataFrame,
    label: str,
    features: Sequence[str] | None,
    exclude: Sequence[str],
    time_column: str | None,
) -> list[str]:
    if label not in frame.columns:
        raise CinefeatError(f"label column {label!r} is not in the training set {frame.columns}")
    if features is None:
        left_out = {label, *exclude, *([time_column] if time_column else [])}
        return [name for name in frame.columns if name not in left_out]
    if isinstance(features, str):
        features = [features]
    left_out = set(exclude)
    wanted = [name for name in dict.fromkeys(features) if name not in left_out]
    missing = [name for name in wanted if name not in frame.columns]
    if missing:
        raise CinefeatError(f"features {missing} are not in the training set {frame.columns}")
    if label in wanted:
        raise CinefeatError(f"features include the label {label!r}: it would predict itself")
    return wanted


def _notes(
    model: str, metric: str, validation: float, encoded: _Encoded, fallback: str | None
) -> list[str]:
    notes = []
    if model == "hist_gb":
        notes.append("HistGradientBoosting does not report split gain: gain is None")
    if fallback:
        notes.append(fallback)
    coded = [n for n, k in zip(encoded.names, encoded.kinds, strict=True) if k == "codes"]
    if coded:
        notes.append(
            f"{', '.join(coded)}: more than {MAX_CATEGORIES} distinct values, used as ordinal "
            "codes; an id-like column belongs in exclude="
        )
    weak = {"r2": 0.0, "roc_auc": 0.55, "accuracy": -math.inf}[metric]
    if not validation > weak:
        notes.append(
            f"the model scores {validation:.3f} {metric} on held-out rows, no better than a "
            "guess: the permutation importances say little"
        )
    return notes


def feature_importance(
    training_df: Any,
    label: str,
    features: Sequence[str] | None = None,
    *,
    exclude: Sequence[str] = (),
    model: Literal["lightgbm", "hist_gb"] = "lightgbm",
    task: Literal["auto", "regression", "classification"] = "auto",
    n_repeats: int = 5,
    validation_fraction: float = 0.25,
    time_column: str | None = "event_timestamp",
    seed: int = 0,
) -> ImportanceResult:
    """Rank the features of `training_df` (pandas, Polars or Arrow) by how much a
    gradient-boosting model needs them to predict `label`.

    Features default to every column but the label, `time_column` and `exclude` (join keys,
    ids); `exclude` also removes names from a given `features` list. Numbers are used as
    they are, booleans as 0/1, text and categories as codes (as categories up to 255 distinct
    values); list and struct columns are skipped with the reason recorded. Rows without a
    label are dropped and counted. The model learns from all rows but the held-out
    `validation_fraction` (the latest by `time_column` when the frame has it, else a random
    share drawn with `seed`); permutation importance is the held-out metric's drop when one
    feature is shuffled, mean and std over `n_repeats` shuffles.
    """
    _check_options(model, task, n_repeats, validation_fraction)
    frame = to_polars_frame(training_df, "training_df")
    names = _feature_list(frame, label, features, exclude, time_column)
    missing = pl.col(label).is_null()
    if frame.schema[label].is_float():
        missing = missing | pl.col(label).is_nan()
    dropped = frame.select(missing.sum()).item()
    frame = frame.filter(~missing)
    if frame.height < MIN_ROWS:
        raise CinefeatError(
            f"label {label!r} has {frame.height} non-null rows; importance needs at least "
            f"{MIN_ROWS}"
        )
    chosen_task = _task(frame[label], task)
    y, classes = _label_values(frame[label], chosen_task)
    encoded = _encode(frame, names)
    if not encoded.names:
        reasons = "; ".join(f"{k}: {v}" for k, v in encoded.skipped.items()) or "none given"
        raise CinefeatError(f"no usable feature to rank ({reasons})")

    train, held, split_column, holdout_start = _split(frame, time_column, validation_fraction, seed)
    if chosen_task == "classification" and len(np.unique(y[train])) < 2:
        raise CinefeatError(
            f"label {label!r} has one class in the {len(train)} training rows; more rows or a "
            "larger share of training rows are needed"
        )
    metric = metric_for(chosen_task, len(classes))
    if metric == "roc_auc" and len(np.unique(y[held])) < 2:
        raise CinefeatError(
            f"label {label!r} has one class in the {len(held)} held-out rows: ROC AUC is "
            "undefined; use more rows or a larger validation_fraction"
        )

    x = encoded.matrix
    categorical = np.array([k == "categorical" for k in encoded.kinds])
    estimator = fit_model(model, chosen_task, x[train], y[train], categorical, seed)
    validation = score(estimator, metric, x[held], y[held])
    scored = _sample(held, PERMUTATION_ROWS, seed)
    permutation = permutation_scores(estimator, metric, x[scored], y[scored], n_repeats, seed)
    gains = gain_shares(model, estimator)
    mi_rows = _sample(np.arange(frame.height), MUTUAL_INFO_ROWS, seed)
    discrete = np.array([k in ("categorical", "boolean") for k in encoded.kinds])
    mutual = mutual_information(chosen_task, x[mi_rows], y[mi_rows], discrete, seed)

    def order(i: int) -> tuple[float, float, str]:
        mean = permutation.mean[i]
        return (-mean if math.isfinite(mean) else math.inf, -(mutual[i] or 0.0), encoded.names[i])

    ranked = sorted(range(len(encoded.names)), key=order)
    fallback = None
    if time_column is not None and split_column is None:
        fallback = f"no {time_column!r} column: held out a random {validation_fraction:.0%}"
    return ImportanceResult(
        label=label,
        task=chosen_task,
        model=model,
        metric=metric,
        validation_score=validation,
        rows_used=frame.height,
        features=tuple(
            FeatureImportance(
                feature=encoded.names[i],
                permutation_mean=float(permutation.mean[i]),
                permutation_std=float(permutation.std[i]),
                mutual_info=mutual[i],
                gain=None if gains is None else float(gains[i]),
                rank=rank,
                kind=encoded.kinds[i],
            )
            for rank, i in enumerate(ranked, start=1)
        ),
        skipped=encoded.skipped,
        created_at=datetime.now(UTC),
        rows_dropped=int(dropped),
        train_rows=len(train),
        validation_rows=len(held),
        split="time" if split_column else "random",
        split_column=split_column,
        holdout_start=holdout_start,
        permutation_rows=len(scored),
        mutual_info_rows=len(mi_rows),
        n_repeats=n_repeats,
        seed=seed,
        classes=classes,
        notes=tuple(_notes(model, metric, validation, encoded, fallback)),
    )
