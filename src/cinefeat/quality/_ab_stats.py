"""Statistics of offline A/B tests of feature sets, as pure functions: the time-and-user split,
per-user metric statistics (RMSE, AUC, NDCG@k), and the paired comparison of two arms
(paired test over users, user-bootstrap CI of the metric delta, decision).

The split: users are shuffled with the seed and dealt round-robin into k groups; one time
cutoff is the (1 - test_fraction) quantile of all row times. Fold i tests on group i's rows
later than the cutoff and trains on the other groups' rows at or before it, so no test user
and no row from the test period ever reaches training.

The comparison works on per-user sufficient statistics `S` (users x m, per arm), whose column
sums give the fold's metric through `metric_from_sums`:
RMSE: [sse, n] -> sqrt(sse / n); NDCG: [ndcg_u, 1] -> mean; AUC: [psi over positives, positives,
psi over negatives, negatives] -> (mean psi_pos + mean psi_neg) / 2, where psi are DeLong's
placement values (a positive's share of negatives scored below it, a negative's share of
positives scored above it; ties count half). Each user's *contribution* (`contributions`) is
the fold metric plus the user's linearised influence on it: their mean over the fold's users
is the fold's MSE, NDCG or AUC, their variance / users the metric's variance. The paired test
runs on contribution deltas (treatment - control) pooled over folds; the bootstrap resamples
users within each fold and recomputes the metric from resampled sums (AUC through the same
projection). Predictions are held fixed: the models' own training noise is not resampled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from cinefeat.errors import CinefeatError

__all__ = [
    "HIGHER_IS_BETTER",
    "METRICS",
    "Comparison",
    "FoldSplit",
    "FoldStats",
    "PairedTest",
    "auc",
    "auc_placements",
    "bootstrap_delta_ci",
    "compare_arms",
    "contributions",
    "decide",
    "metric_from_sums",
    "ndcg_per_user",
    "paired_test",
    "rmse",
    "time_user_folds",
    "user_groups",
    "user_stats",
]

Metric = Literal["rmse", "auc", "ndcg"]
METRICS: tuple[str, ...] = ("rmse", "auc", "ndcg")
HIGHER_IS_BETTER = {"rmse": False, "auc": True, "ndcg": True}
TESTS = {"t": "paired t-test", "wilcoxon": "Wilcoxon signed-rank"}
_BOOTSTRAP_CELLS = 4_000_000  # resampling weights held at once (B x users), bounds memory


# -- the split -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoldSplit:
    """Row positions of one fold. Train rows are at or before `cutoff`, test rows after it."""

    fold: int
    train: np.ndarray
    test: np.ndarray
    cutoff: int  # in the units of the times given (cinefeat passes epoch microseconds)


def user_groups(users: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """The group (0..folds-1) of each row's user: distinct users, sorted, shuffled with
    `seed` and dealt round-robin, so groups differ in size by at most one user."""
    distinct, inverse = np.unique(users, return_inverse=True)
    order = np.random.default_rng(seed).permutation(len(distinct))
    group_of_user = np.empty(len(distinct), dtype=np.int64)
    group_of_user[order] = np.arange(len(distinct)) % folds
    return np.asarray(group_of_user[inverse.reshape(-1)])


def time_user_folds(
    users: np.ndarray,
    times: np.ndarray,
    folds: int = 5,
    test_fraction: float = 0.3,
    seed: int = 0,
) -> list[FoldSplit]:
    """Split rows into `folds` folds grouped by user and ordered in time (module docstring).
    `times` are integers (epoch microseconds) or floats; the cutoff is their
    (1 - test_fraction) quantile, taken as a value that occurs (numpy's "lower" method)."""
    if folds < 2:
        raise CinefeatError(f"folds must be at least 2, got {folds}")
    if not 0.0 < test_fraction < 1.0:
        raise CinefeatError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    if len(users) != len(times) or len(users) == 0:
        raise CinefeatError("the split needs one user and one time per row, and some rows")
    n_users = len(np.unique(users))
    if n_users < folds:
        raise CinefeatError(f"{n_users} users cannot be split into {folds} folds")
    cutoff = np.quantile(times, 1.0 - test_fraction, method="lower")
    later = times > cutoff
    if not later.any():
        raise CinefeatError(
            "every row has the same time as the cutoff or earlier: the time split needs rows "
            "at more than one time (or a larger test_fraction)"
        )
    groups = user_groups(users, folds, seed)
    splits = []
    for fold in range(folds):
        mine = groups == fold
        train = np.flatnonzero(~mine & ~later)
        test = np.flatnonzero(mine & later)
        if len(train) == 0 or len(test) == 0:
            empty = "training" if len(train) == 0 else "test"
            raise CinefeatError(f"fold {fold} has no {empty} rows; use fewer folds or more data")
        splits.append(FoldSplit(fold, train, test, int(cutoff)))
    return splits


# -- metrics ---------------------------------------------------------------------------------


def rmse(y: np.ndarray, prediction: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(y, float) - np.asarray(prediction, float)) ** 2)))


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (scikit-learn's)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


def auc_placements(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """DeLong's placement value of each row: for a positive, the share of negatives scored
    below it; for a negative, the share of positives scored above it (ties count half).
    The mean over positives, and the mean over negatives, are both the AUC."""
    positive = np.asarray(y).astype(bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise CinefeatError("AUC needs both classes among the test rows of every fold")
    ranks = stats.rankdata(score)  # midranks: ties share the average rank
    psi = np.empty(len(positive))
    psi[positive] = (ranks[positive] - stats.rankdata(score[positive])) / n_neg
    psi[~positive] = 1.0 - (ranks[~positive] - stats.rankdata(score[~positive])) / n_pos
    return psi


def ndcg_per_user(
    users: np.ndarray, relevance: np.ndarray, score: np.ndarray, k: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """NDCG@k of each user's rows ranked by `score`, with linear gains (the relevance itself)
    and discount 1/log2(rank + 1). Tied scores get the average discount of the ranks they
    share (scikit-learn's `ndcg_score` does the same). Returns (users, ndcg) for users whose
    ideal DCG is positive; users without any relevant row have no NDCG and are left out."""
    distinct, inverse = np.unique(users, return_inverse=True)
    inverse = inverse.reshape(-1)
    rel = np.asarray(relevance, dtype=float)
    score = np.asarray(score, dtype=float)
    rows_per_user = np.bincount(inverse, minlength=len(distinct))
    first_row = np.concatenate([[0], np.cumsum(rows_per_user)[:-1]])
    depth = int(rows_per_user.max())
    # cumulative[r] = sum of the discounts of ranks 1..r, counting only ranks up to k
    discount = np.where(np.arange(1, depth + 1) <= k, 1.0 / np.log2(np.arange(2, depth + 2)), 0)
    cumulative = np.concatenate([[0.0], np.cumsum(discount)])

    order = np.lexsort((-score, inverse))
    user_sorted, score_sorted = inverse[order], score[order]
    rank = np.arange(len(order)) - first_row[user_sorted] + 1
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = (user_sorted[1:] != user_sorted[:-1]) | (score_sorted[1:] != score_sorted[:-1])
    starts = np.flatnonzero(new_group)
    group = np.cumsum(new_group) - 1
    low, high = rank[starts][group], np.maximum.reduceat(rank, starts)[group]
    average_discount = (cumulative[high] - cumulative[low - 1]) / (high - low + 1)
    dcg = np.bincount(user_sorted, weights=rel[order] * average_discount, minlength=len(distinct))

    ideal_order = np.lexsort((-rel, inverse))
    ideal_rank = np.arange(len(order)) - first_row[inverse[ideal_order]] + 1
    ideal = np.bincount(
        inverse[ideal_order],
        weights=rel[ideal_order] * discount[ideal_rank - 1],
        minlength=len(distinct),
    )
    keep = ideal > 0
    return distinct[keep], dcg[keep] / ideal[keep]


def user_stats(
    metric: str, users: np.ndarray, y: np.ndarray, prediction: np.ndarray, k: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """(sorted users, per-user sufficient statistics S) of one fold's test rows for one arm;
    `metric_from_sums(metric, S.sum(axis=0))` is the fold's metric."""
    if metric == "ndcg":
        distinct, per_user = ndcg_per_user(users, y, prediction, k)
        return distinct, np.column_stack([per_user, np.ones(len(per_user))])
    distinct, inverse = np.unique(users, return_inverse=True)
    inverse = inverse.reshape(-1)

    def total(weights: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=weights, minlength=len(distinct))

    if metric == "rmse":
        error = (np.asarray(y, float) - np.asarray(prediction, float)) ** 2
        return distinct, np.column_stack([total(error), total(np.ones(len(error)))])
    if metric == "auc":
        psi = auc_placements(y, prediction)
        positive = np.asarray(y).astype(float)
        return distinct, np.column_stack(
            [
                total(psi * positive),
                total(positive),
                total(psi * (1 - positive)),
                total(1 - positive),
            ]
        )
    raise CinefeatError(f"metric must be one of {list(METRICS)}, got {metric!r}")


def metric_from_sums(metric: str, sums: np.ndarray) -> np.ndarray:
    """The metric from column sums of per-user statistics (last axis), vectorised over rows."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "rmse":
            return np.asarray(np.sqrt(sums[..., 0] / sums[..., 1]))
        if metric == "ndcg":
            return np.asarray(sums[..., 0] / sums[..., 1])
        return np.asarray(0.5 * (sums[..., 0] / sums[..., 1] + sums[..., 2] / sums[..., 3]))


def contributions(metric: str, per_user: np.ndarray) -> np.ndarray:
    """Each user's linearised share of the fold metric (its influence, plus the metric), so
    that their mean is exactly the fold's MSE (for RMSE), NDCG or AUC and their variance / users
    estimates the metric's variance: the per-user quantity the paired test compares.

    MSE = sum(sse) / sum(n) is a ratio: c_u = MSE + U (sse_u - MSE n_u) / N. AUC's projection
    (as in DeLong's variance) counts positives and negatives in full, not half each:
    c_u = AUC + U (sum_pos_u (psi - AUC) / P + sum_neg_u (psi - AUC) / N)."""
    users = len(per_user)
    sums = per_user.sum(axis=0)
    value = float(metric_from_sums(metric, sums))
    if metric == "ndcg":
        return np.asarray(per_user[:, 0])
    if metric == "rmse":
        mse = value**2
        return np.asarray(mse + users * (per_user[:, 0] - mse * per_user[:, 1]) / sums[1])
    positives = (per_user[:, 0] - value * per_user[:, 1]) / sums[1]
    negatives = (per_user[:, 2] - value * per_user[:, 3]) / sums[3]
    return np.asarray(value + users * (positives + negatives))


def _resampled_metric(metric: str, resampled: np.ndarray, full: np.ndarray) -> np.ndarray:
    """The metric on resampled users. RMSE and NDCG are recomputed exactly from the sums; AUC
    through its projection (placement values held fixed), mean psi_pos + mean psi_neg - AUC,
    whose spread matches DeLong's variance (half of each would halve it)."""
    if metric != "auc":
        return metric_from_sums(metric, resampled)
    with np.errstate(divide="ignore", invalid="ignore"):
        both = resampled[..., 0] / resampled[..., 1] + resampled[..., 2] / resampled[..., 3]
    return np.asarray(both - float(metric_from_sums(metric, full)))


# -- the comparison --------------------------------------------------------------------------


@dataclass(frozen=True)
class FoldStats:
    """One fold's per-user statistics for both arms, rows aligned on the same users."""

    control: np.ndarray
    treatment: np.ndarray


@dataclass(frozen=True)
class PairedTest:
    test: str  # "t" or "wilcoxon"
    statistic: float
    p_value: float
    mean_delta: float
    effect_size: float  # Cohen's dz: mean delta / standard deviation of the deltas
    n: int


def paired_test(deltas: np.ndarray, test: str = "t") -> PairedTest:
    """Two-sided paired test of per-user deltas against 0. All-zero deltas give p = 1;
    identical non-zero deltas p = 0 (no variance to test against)."""
    if test not in TESTS:
        raise CinefeatError(f"test must be one of {list(TESTS)}, got {test!r}")
    deltas = np.asarray(deltas, dtype=float)
    if len(deltas) < 2:
        raise CinefeatError(f"the paired test needs at least 2 users, got {len(deltas)}")
    mean = float(deltas.mean())
    spread = float(deltas.std(ddof=1))
    if spread == 0.0:
        p, statistic = (1.0, 0.0) if mean == 0.0 else (0.0, float(np.copysign(np.inf, mean)))
        return PairedTest(test, statistic, p, mean, 0.0 if mean == 0 else statistic, len(deltas))
    if test == "t":
        result = stats.ttest_1samp(deltas, 0.0)
    else:
        result = stats.wilcoxon(deltas, zero_method="wilcox")
    return PairedTest(
        test, float(result.statistic), float(result.pvalue), mean, mean / spread, len(deltas)
    )


def bootstrap_delta_ci(
    metric: str,
    folds: Sequence[FoldStats],
    *,
    n_bootstrap: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile CI (level 1 - alpha) of the delta of the fold-averaged metric (treatment -
    control), resampling users with replacement within each fold (both arms get the same
    resample, which keeps the pairing)."""
    rng = np.random.default_rng(seed)
    deltas = np.zeros(n_bootstrap)
    for fold in folds:
        users = len(fold.control)
        batch = max(1, _BOOTSTRAP_CELLS // max(users, 1))
        for start in range(0, n_bootstrap, batch):
            size = min(batch, n_bootstrap - start)
            weights = rng.multinomial(users, np.full(users, 1.0 / users), size=size)
            control = _resampled_metric(metric, weights @ fold.control, fold.control.sum(0))
            treatment = _resampled_metric(metric, weights @ fold.treatment, fold.treatment.sum(0))
            deltas[start : start + size] += treatment - control
    deltas /= len(folds)
    low, high = np.nanquantile(deltas, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def decide(metric: str, p_value: float, ci_low: float, ci_high: float, alpha: float) -> str:
    """ "treatment" when the test rejects and the whole CI lies on the treatment's better side,
    "control" when both point the other way, else "inconclusive"."""
    if not p_value < alpha:
        return "inconclusive"
    higher = HIGHER_IS_BETTER[metric]
    if (ci_low > 0) if higher else (ci_high < 0):
        return "treatment"
    if (ci_high < 0) if higher else (ci_low > 0):
        return "control"
    return "inconclusive"


@dataclass(frozen=True)
class Comparison:
    """The two arms compared: metrics averaged over folds, per-fold metrics, the delta
    (treatment - control, in the metric's units) with its CI, the paired test and decision."""

    metric: str
    control_metric: float
    treatment_metric: float
    fold_control: tuple[float, ...]
    fold_treatment: tuple[float, ...]
    fold_users: tuple[int, ...]
    effect: float
    ci_low: float
    ci_high: float
    test: PairedTest
    decision: str


def compare_arms(
    metric: str,
    folds: Sequence[FoldStats],
    *,
    alpha: float = 0.05,
    n_bootstrap: int = 2000,
    seed: int = 0,
    test: str = "t",
) -> Comparison:
    """Compare the arms over folds of per-user statistics (see the module docstring)."""
    if metric not in METRICS:
        raise CinefeatError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    fold_control = [float(metric_from_sums(metric, f.control.sum(axis=0))) for f in folds]
    fold_treatment = [float(metric_from_sums(metric, f.treatment.sum(axis=0))) for f in folds]
    deltas = np.concatenate(
        [contributions(metric, f.treatment) - contributions(metric, f.control) for f in folds]
    )
    tested = paired_test(deltas, test)
    low, high = bootstrap_delta_ci(metric, folds, n_bootstrap=n_bootstrap, alpha=alpha, seed=seed)
    control, treatment = float(np.mean(fold_control)), float(np.mean(fold_treatment))
    return Comparison(
        metric,
        control,
        treatment,
        tuple(fold_control),
        tuple(fold_treatment),
        tuple(len(f.control) for f in folds),
        treatment - control,
        low,
        high,
        tested,
        decide(metric, tested.p_value, low, high, alpha),
    )
