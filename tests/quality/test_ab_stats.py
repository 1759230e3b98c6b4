"""The statistics of offline A/B tests, on their own: hand-computed metrics, the split's
guarantees (no user and no future leak into training), the paired test, the user bootstrap
and the decision rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import ndcg_score, roc_auc_score

from cinefeat.errors import CinefeatError
from cinefeat.quality._ab_stats import (
    FoldStats,
    auc_placements,
    bootstrap_delta_ci,
    compare_arms,
    contributions,
    decide,
    metric_from_sums,
    ndcg_per_user,
    paired_test,
    rmse,
    time_user_folds,
    user_groups,
    user_stats,
)

# -- metrics -----------------------------------------------------------------------------------


def test_rmse_by_hand() -> None:
    assert rmse(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])) == pytest.approx(
        math.sqrt(4 / 3)
    )


def test_auc_placements_by_hand() -> None:
    y = np.array([1, 0, 1, 0])
    score = np.array([0.9, 0.1, 0.4, 0.6])
    # 0.9 beats both negatives, 0.4 beats one; 0.1 is below both positives, 0.6 below one.
    assert auc_placements(y, score).tolist() == [1.0, 1.0, 0.5, 0.5]
    ties = auc_placements(np.array([1, 0, 1]), np.array([0.5, 0.5, 0.7]))
    assert ties.tolist() == [0.5, 0.75, 1.0]  # a tie counts half
    with pytest.raises(CinefeatError, match="both classes"):
        auc_placements(np.array([1, 1]), np.array([0.1, 0.2]))


def test_ndcg_per_user_by_hand() -> None:
    users = np.array(["a", "a", "a", "b", "b", "c", "c"])
    relevance = np.array([3.0, 2.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    score = np.array([0.1, 0.9, 0.5, 0.3, 0.2, 0.5, 0.5])
    distinct, ndcg = ndcg_per_user(users, relevance, score, k=10)
    # a: ranked 2, 0, 3 -> DCG 2/1 + 0 + 3/2 = 3.5; ideal 3/1 + 2/log2(3); b has no relevant
    # row (left out); c: a tie shares the discounts of ranks 1 and 2: (1 + 1/log2 3) / 2.
    assert distinct.tolist() == ["a", "c"]
    assert ndcg[0] == pytest.approx(3.5 / (3 + 2 / math.log2(3)))
    assert ndcg[1] == pytest.approx((1 + 1 / math.log2(3)) / 2)
    _, at_2 = ndcg_per_user(users, relevance, score, k=2)
    assert at_2[0] == pytest.approx(2 / (3 + 2 / math.log2(3)))  # rank 3 is cut off


def test_ndcg_agrees_with_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    users = np.repeat(np.arange(40), 6)
    relevance = rng.integers(0, 4, len(users)).astype(float)
    relevance[users == 0] = 0  # no relevant row: left out
    score = rng.integers(0, 3, len(users)).astype(float)  # many ties
    distinct, ndcg = ndcg_per_user(users, relevance, score, k=4)
    for user, value in zip(distinct, ndcg, strict=True):
        mine = users == user
        expected = ndcg_score([relevance[mine]], [score[mine]], k=4)
        assert value == pytest.approx(expected), user
    assert 0 not in distinct


@pytest.mark.parametrize("metric", ["rmse", "auc", "ndcg"])
def test_user_stats_give_the_metric_and_contributions_average_to_it(metric: str) -> None:
    rng = np.random.default_rng(7)
    users = rng.integers(0, 50, 600)
    y = rng.integers(0, 2, 600).astype(float) if metric != "rmse" else rng.normal(size=600)
    prediction = y + rng.normal(0, 1.0, 600)
    distinct, per_user = user_stats(metric, users, y, prediction, k=5)
    value = float(metric_from_sums(metric, per_user.sum(axis=0)))
    if metric == "rmse":
        assert value == pytest.approx(rmse(y, prediction))
        assert contributions(metric, per_user).mean() == pytest.approx(value**2)  # the MSE
    elif metric == "auc":
        assert value == pytest.approx(roc_auc_score(y, prediction))
        assert contributions(metric, per_user).mean() == pytest.approx(value)
    else:
        _, ndcg = ndcg_per_user(users, y, prediction, k=5)
        assert value == pytest.approx(ndcg.mean())
        assert contributions(metric, per_user).tolist() == pytest.approx(ndcg.tolist())
    assert len(distinct) == len(per_user)


# -- the split ---------------------------------------------------------------------------------


def test_split_by_hand() -> None:
    users = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    times = np.arange(1, 9) * 10
    splits = time_user_folds(users, times, folds=2, test_fraction=0.5, seed=0)
    # seed 0 shuffles users (0, 1, 2, 3) to the order (2, 0, 1, 3): dealt round-robin, users 1
    # and 2 form group 0, users 0 and 3 group 1.
    assert user_groups(users, 2, seed=0).tolist() == [1, 0, 0, 1, 1, 0, 0, 1]
    assert splits[0].cutoff == 40  # the 50% quantile, a time that occurs
    assert (splits[0].train.tolist(), splits[0].test.tolist()) == ([0, 3], [5, 6])
    assert (splits[1].train.tolist(), splits[1].test.tolist()) == ([1, 2], [4, 7])


def test_split_never_leaks_users_or_the_future() -> None:
    rng = np.random.default_rng(11)
    users = rng.integers(0, 97, 5_000)
    times = rng.integers(0, 10**9, 5_000)
    splits = time_user_folds(users, times, folds=5, test_fraction=0.3, seed=4)
    tested = []
    for split in splits:
        assert not set(users[split.train]) & set(users[split.test])
        assert times[split.train].max() <= split.cutoff < times[split.test].min()
        tested.extend(set(users[split.test]))
    assert len(tested) == len(set(tested))  # every user is tested in one fold at most
    test_rows = sum(len(s.test) for s in splits)
    assert test_rows == int((times > splits[0].cutoff).sum())
    assert abs(test_rows / 5_000 - 0.3) < 0.01
    sizes = np.bincount(user_groups(np.unique(users), 5, seed=4))
    assert sizes.max() - sizes.min() <= 1  # users dealt round-robin


def test_split_is_seeded() -> None:
    users = np.arange(200)
    assert (user_groups(users, 5, 1) == user_groups(users, 5, 1)).all()
    assert (user_groups(users, 5, 1) != user_groups(users, 5, 2)).any()


def test_split_errors() -> None:
    with pytest.raises(CinefeatError, match="3 users cannot be split into 5 folds"):
        time_user_folds(np.array([1, 2, 3]), np.array([1, 2, 3]), folds=5)
    with pytest.raises(CinefeatError, match="same time"):
        time_user_folds(np.arange(10), np.zeros(10), folds=2)
    with pytest.raises(CinefeatError, match="folds must be at least 2"):
        time_user_folds(np.arange(10), np.arange(10), folds=1)


# -- the comparison ----------------------------------------------------------------------------


def test_paired_t_test_by_hand() -> None:
    result = paired_test(np.array([1.0, 2.0, 3.0, 4.0]))
    sd = math.sqrt(5 / 3)
    assert result.mean_delta == 2.5
    assert result.effect_size == pytest.approx(2.5 / sd)  # Cohen's dz
    assert result.statistic == pytest.approx(2.5 / (sd / 2))
    assert result.p_value == pytest.approx(2 * stats.t.sf(2.5 / (sd / 2), df=3))
    wilcoxon = paired_test(np.array([1.0, 2.0, 3.0, 4.0]), "wilcoxon")
    assert wilcoxon.p_value == pytest.approx(2 / 16)  # all 4 signs positive, exact two-sided
    none = paired_test(np.zeros(5))
    assert (none.p_value, none.effect_size) == (1.0, 0.0)


def test_paired_test_has_power_on_users() -> None:
    rng = np.random.default_rng(0)
    shift = paired_test(rng.normal(0.1, 1.0, 2_000))  # a 0.1 sd shift over 2,000 users
    assert shift.p_value < 0.01
    null = [paired_test(rng.normal(0.0, 1.0, 200)).p_value for _ in range(400)]
    assert 0.02 < np.mean(np.array(null) < 0.05) < 0.08  # calibrated under no effect


def test_bootstrap_of_a_constant_delta_is_that_delta() -> None:
    n = np.array([[3.0], [1.0], [2.0]])
    control = FoldStats(np.hstack([4 * n, n]), np.hstack([1 * n, n]))  # RMSE 2 vs 1 everywhere
    low, high = bootstrap_delta_ci("rmse", [control, control], n_bootstrap=300, seed=1)
    assert low == pytest.approx(1 - 2) and high == pytest.approx(1 - 2)


def test_bootstrap_width_matches_the_standard_error() -> None:
    rng = np.random.default_rng(5)
    deltas = rng.normal(0.05, 0.2, 400)
    control = np.column_stack([np.full(400, 0.5), np.ones(400)])
    treatment = np.column_stack([0.5 + deltas, np.ones(400)])
    folds = [FoldStats(control, treatment)]
    low, high = bootstrap_delta_ci("ndcg", folds, n_bootstrap=2_000, seed=0)
    assert low < deltas.mean() < high
    expected = 1.96 * deltas.std(ddof=1) / math.sqrt(400)
    assert (high - low) / 2 == pytest.approx(expected, rel=0.1)
    assert (low, high) == bootstrap_delta_ci("ndcg", folds, n_bootstrap=2_000, seed=0)


def test_decision_rule_respects_the_metric_direction() -> None:
    assert decide("rmse", 0.01, -0.3, -0.1, 0.05) == "treatment"  # lower RMSE is better
    assert decide("rmse", 0.01, 0.1, 0.3, 0.05) == "control"
    assert decide("auc", 0.01, 0.1, 0.3, 0.05) == "treatment"  # higher AUC is better
    assert decide("ndcg", 0.01, -0.3, -0.1, 0.05) == "control"
    assert decide("auc", 0.2, 0.1, 0.3, 0.05) == "inconclusive"  # not significant
    assert decide("auc", 0.01, -0.1, 0.3, 0.05) == "inconclusive"  # CI straddles 0


def test_compare_arms_by_hand() -> None:
    # RMSE fold 0: control sqrt(12/3) = 2, treatment sqrt(3/3) = 1; fold 1: 3 vs 3.
    fold0 = FoldStats(np.array([[8.0, 2.0], [4.0, 1.0]]), np.array([[2.0, 2.0], [1.0, 1.0]]))
    fold1 = FoldStats(np.array([[9.0, 1.0], [18.0, 2.0]]), np.array([[9.0, 1.0], [18.0, 2.0]]))
    result = compare_arms("rmse", [fold0, fold1], n_bootstrap=200)
    assert result.fold_control == (2.0, 3.0) and result.fold_treatment == (1.0, 3.0)
    assert (result.control_metric, result.treatment_metric) == (2.5, 2.0)
    assert result.effect == -0.5
    # Per-user contributions MSE + U (sse_u - MSE n_u) / N: in fold 0 every user has the
    # fold's MSE (control 4, treatment 1), so both deltas are -3; fold 1's arms are equal.
    deltas = [-3.0, -3.0, 0.0, 0.0]
    assert result.test.mean_delta == pytest.approx(np.mean(deltas))
    assert result.test.p_value == pytest.approx(stats.ttest_1samp(deltas, 0.0).pvalue)
    assert result.fold_users == (2, 2)


def test_auc_contributions_carry_delongs_variance() -> None:
    rng = np.random.default_rng(2)
    y = (rng.random(500) < 0.4).astype(float)
    score = y + rng.normal(0, 1.5, 500)
    _, per_user = user_stats("auc", np.arange(500), y, score)  # one row per user
    psi = auc_placements(y, score)
    delong = psi[y == 1].var(ddof=1) / (y == 1).sum() + psi[y == 0].var(ddof=1) / (y == 0).sum()
    assert contributions("auc", per_user).var(ddof=1) / 500 == pytest.approx(delong, rel=0.01)


@pytest.mark.parametrize("metric", ["rmse", "auc", "ndcg"])
def test_the_paired_test_is_calibrated_when_the_arms_are_equally_good(metric: str) -> None:
    rng = np.random.default_rng(9)
    users = np.repeat(np.arange(150), 4)
    rejected = 0
    for _ in range(300):
        truth = rng.normal(size=600)
        y = (truth > 0).astype(float) if metric != "rmse" else truth
        arms = [user_stats(metric, users, y, truth + rng.normal(0, 1, 600))[1] for _ in "ct"]
        deltas = contributions(metric, arms[1]) - contributions(metric, arms[0])
        rejected += paired_test(deltas).p_value < 0.05
    assert 0.025 < rejected / 300 < 0.085  # nominal 5%; halving AUC's projection gives ~30%


def test_auc_bootstrap_agrees_with_the_paired_test() -> None:
    rng = np.random.default_rng(4)
    users = np.repeat(np.arange(300), 3)
    truth = rng.normal(size=900)
    y = (truth + rng.normal(size=900) > 0).astype(float)
    control = user_stats("auc", users, y, truth + rng.normal(0, 1.5, 900))[1]
    treatment = user_stats("auc", users, y, truth + rng.normal(0, 1.2, 900))[1]
    deltas = contributions("auc", treatment) - contributions("auc", control)
    low, high = bootstrap_delta_ci("auc", [FoldStats(control, treatment)], seed=0)
    standard_error = deltas.std(ddof=1) / math.sqrt(300)
    assert (high - low) / 2 == pytest.approx(1.96 * standard_error, rel=0.1)
    assert low < deltas.mean() < high
