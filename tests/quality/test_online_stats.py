"""The statistics of online A/B tests: the power calculation, Welch and z-tests against scipy
and hand-computed answers, the SRM check, and the fixed-horizon analysis on simulated
experiments (A/A false positives, the planned power, before and at the horizon)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from cinefeat.quality import OnlineExperiment, OnlineExperimentResult, required_sample_sizes
from cinefeat.quality._online_analysis import analyze_outcomes
from cinefeat.quality._online_stats import (
    sample_ratio_p_value,
    two_proportion_z_test,
    welch_t_test,
)
from tests.quality.test_online_experiments import spec

# -- power calculation --------------------------------------------------------------------


def test_required_sample_sizes_match_hand_computed_answers() -> None:
    # 2 (1.959964 + 0.841621)^2 / 0.2^2 = 392.4: the textbook 393 per arm.
    assert required_sample_sizes("mean", 0.2, 1.0) == (393, 393)
    # sd 2, mde 0.5, power 0.9: 2 (1.959964 + 1.281552)^2 4 / 0.25 = 336.2.
    assert required_sample_sizes("mean", 0.5, 2.0, 0.05, 0.9) == (337, 337)
    # 10% -> 12%: (1.96 sqrt(2 .11 .89) + .8416 sqrt(.1 .9 + .12 .88))^2 / .02^2 = 3840.9.
    assert required_sample_sizes("proportion", 0.02, 0.10) == (3841, 3841)
    assert required_sample_sizes("proportion", 0.05, 0.5) == (1565, 1565)
    # A quarter in treatment (k = 1/3): n_c = 7.8489 (1 + 3) / 0.04 = 784.9, n_t = 261.6.
    assert required_sample_sizes("mean", 0.2, 1.0, treatment_share=0.25) == (785, 262)


# -- the tests ----------------------------------------------------------------------------


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    control, treatment = rng.normal(3.5, 1.0, 60), rng.normal(3.9, 1.6, 45)
    ours = welch_t_test(control, treatment, alpha=0.05)
    theirs = stats.ttest_ind(treatment, control, equal_var=False)
    interval = theirs.confidence_interval(0.95)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-10)
    assert ours.degrees_of_freedom == pytest.approx(theirs.df, rel=1e-12)
    assert (ours.ci_low, ours.ci_high) == pytest.approx((interval.low, interval.high), rel=1e-10)
    assert ours.effect == pytest.approx(treatment.mean() - control.mean())
    # Hand example: means 2 and 4, both variances 2/3 over n = 4: se = 0.57735, t = 3.4641.
    hand = welch_t_test([1, 2, 2, 3], [3, 4, 4, 5])
    assert hand.statistic == pytest.approx(3.4641016) and hand.degrees_of_freedom == 6
    assert hand.p_value == pytest.approx(0.0134000, rel=1e-5)  # 2 P(t_6 > 3.4641)
    flat = welch_t_test([2.0, 2.0], [2.0, 2.0])
    assert flat.p_value is None and flat.effect == 0
    assert flat.note == "every outcome is the same in both arms: no test is possible"


def test_welch_with_constant_but_different_arms_is_a_certain_difference() -> None:
    # No variance in either arm: the means 3 and 4 are exact, so the difference is certain.
    certain = welch_t_test([3.0] * 5, [4.0] * 7)
    assert (certain.effect, certain.ci_low, certain.ci_high, certain.p_value) == (1, 1, 1, 0)
    assert certain.statistic == np.inf and certain.degrees_of_freedom is None
    assert "the difference is certain (p = 0" in certain.note
    assert welch_t_test([4.0] * 3, [3.0] * 3).statistic == -np.inf
    # Through the analysis: a decision, no infinite statistic in the (JSON) result.
    experiment = spec(required_control=5, required_treatment=5)
    keys = [f"user_id={i}" for i in range(10)]
    arms = ["control"] * 5 + ["treatment"] * 5
    result = analyze_outcomes(experiment, arms, keys, [3.0] * 5 + [4.0] * 5)
    assert (result.status, result.decision, result.effect, result.p_value) == (
        "complete",
        "treatment",
        1.0,
        0.0,
    )
    assert (result.ci_low, result.ci_high, result.statistic) == (1.0, 1.0, None)
    assert not any("every outcome is the same" in m for m in result.messages)
    assert any("the difference is certain" in m for m in result.messages)
    lower = replace(experiment, higher_is_better=False)
    assert analyze_outcomes(lower, arms, keys, [3.0] * 5 + [4.0] * 5).decision == "control"
    same = analyze_outcomes(experiment, arms, keys, [3.0] * 10)
    assert same.p_value is None and same.decision == "inconclusive"
    assert "every outcome is the same in both arms: no test is possible" in same.messages


def test_welch_on_overflowing_values_gives_no_test() -> None:
    huge = welch_t_test([1.7e308] * 3, [1.0, 2.0, 3.0])
    assert (huge.p_value, huge.statistic, huge.ci_low) == (None, None, None)
    assert "overflows float64" in huge.note
    # Squares of these variances overflow (scipy's df becomes inf); ours is computed from
    # each arm's share of the variance: control's is all of it, so df = n_c - 1 = 2. By hand:
    # effect -2e150/3, s_c^2/n_c = 7e300/9, t = -2/sqrt(7).
    wide = welch_t_test([1e150, -1e150, 2e150], [3.0, 4.0, 4.0, 5.0])
    assert wide.degrees_of_freedom == pytest.approx(2.0, rel=1e-12)
    assert wide.statistic == pytest.approx(-2 / np.sqrt(7), rel=1e-12)
    assert wide.p_value == pytest.approx(2 * stats.t.sf(2 / np.sqrt(7), 2), rel=1e-10)


def test_two_proportion_z_matches_hand_and_the_chi_square() -> None:
    control = np.r_[np.ones(100), np.zeros(900)]
    treatment = np.r_[np.ones(130), np.zeros(870)]
    ours = two_proportion_z_test(control, treatment)
    # pooled .115: se = sqrt(.115 .885 (2/1000)) = .014267; z = .03 / .014267.
    assert ours.statistic == pytest.approx(2.10274, rel=1e-5)
    assert ours.p_value == pytest.approx(0.0354885, rel=1e-5)
    # Wald interval: .03 +- 1.96 sqrt(.1 .9/1000 + .13 .87/1000).
    assert (ours.ci_low, ours.ci_high) == pytest.approx((0.0020679, 0.0579321), rel=1e-4)
    table = [[100, 900], [130, 870]]
    chi2, p_value, _, _ = stats.chi2_contingency(table, correction=False)
    assert ours.statistic is not None and ours.statistic**2 == pytest.approx(chi2, rel=1e-10)
    assert ours.p_value == pytest.approx(p_value, rel=1e-10)
    none = two_proportion_z_test(np.zeros(10), np.zeros(12))
    assert none.p_value is None and none.effect == 0


def test_sample_ratio_mismatch_check() -> None:
    # chi2 = 2 (100^2 / 5100) = 3.92: p = .0477 (a fair coin can do that); 250 off: 23.8.
    assert sample_ratio_p_value(5000, 5200, 0.5) == pytest.approx(0.0476704, rel=1e-5)
    assert sample_ratio_p_value(5000, 5500, 0.5) == pytest.approx(1.06355e-6, rel=1e-4)
    assert sample_ratio_p_value(8000, 2000, 0.2) == pytest.approx(1.0)
    assert sample_ratio_p_value(3, 4, 0.5) is None  # expected counts below 5


# -- simulated experiments (pure analysis) ------------------------------------------------


def simulate(
    experiment: OnlineExperiment, n: int, effect: float, seed: int, share: float = 0.5
) -> OnlineExperimentResult:
    """n units with one outcome each, the arm drawn with probability `share`."""
    rng = np.random.default_rng(seed)
    treated = rng.random(n) < share
    if experiment.metric == "mean":
        values = rng.normal(3.5, experiment.baseline, n) + effect * treated
    else:
        values = (rng.random(n) < experiment.baseline + effect * treated).astype(float)
    arms = np.where(treated, "treatment", "control").tolist()
    return analyze_outcomes(experiment, arms, [f"user_id={i}" for i in range(n)], values)


def test_before_the_horizon_it_is_collecting_and_shows_no_test() -> None:
    result = simulate(spec(), 600, effect=1.0, seed=1)  # a huge effect, but only ~300 a side
    assert result.status == "collecting" and result.decision == "inconclusive"
    assert result.p_value is None and result.effect is None and result.ci_low is None
    assert result.control.analyzed == result.control.outcomes < 393
    assert result.treatment.mean is not None
    assert any("only valid at its horizon" in m and "peeking" in m for m in result.messages)


def test_a_real_effect_at_the_horizon_is_found() -> None:
    result = simulate(spec(), 1_000, effect=0.4, seed=3)
    assert result.status == "complete" and result.decision == "treatment"
    assert result.control.analyzed == 393 and result.treatment.analyzed == 393
    assert result.control.outcomes > 393  # the rest is beyond the horizon, not used
    assert result.ci_low is not None and result.ci_high is not None
    assert result.ci_low < 0.4 < result.ci_high and result.ci_low > 0
    assert result.p_value is not None and result.p_value < 0.001
    # Lower is better: the same data make control the winner.
    assert simulate(spec(higher_is_better=False), 1_000, 0.4, 3).decision == "control"


@pytest.mark.parametrize("metric", ["mean", "proportion"])
def test_a_a_tests_reject_at_about_alpha(metric: str) -> None:
    experiment = (
        spec()
        if metric == "mean"
        else spec(metric="proportion", baseline=0.3, required_control=300, required_treatment=300)
    )
    results = [simulate(experiment, 900, 0.0, seed) for seed in range(400)]
    assert all(r.status == "complete" for r in results)
    decisions = [r.decision for r in results]
    false_positive_rate = np.mean([d != "inconclusive" for d in decisions])
    # 400 runs at alpha .05: sd .011. A test that never rejects would fail too.
    assert 0.02 <= false_positive_rate <= 0.08


def test_the_planned_power_is_achieved() -> None:
    # At the horizon (393 per arm) an effect of exactly the mde is found 80% of the time.
    decisions = [simulate(spec(), 900, 0.2, seed).decision for seed in range(400)]
    power = np.mean([d == "treatment" for d in decisions])
    assert 0.74 <= power <= 0.86


def test_a_skewed_split_is_flagged_and_blocks_the_decision() -> None:
    result = simulate(spec(), 2_000, effect=0.5, seed=5, share=0.45)
    assert result.srm_flagged and result.srm_p_value is not None
    assert result.srm_p_value < 0.001
    assert result.status == "complete" and result.decision == "inconclusive"
    assert any("sample ratio mismatch" in m for m in result.messages)
    fair = simulate(spec(), 2_000, effect=0.5, seed=5)
    assert not fair.srm_flagged and fair.decision == "treatment"
