"""The statistics of online A/B tests: the fixed-horizon sample size (two-sided two-sample z
approximation), Welch's t-test, the two-proportion z-test and the sample-ratio-mismatch check."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "ArmComparison",
    "Metric",
    "required_sample_sizes",
    "sample_ratio_p_value",
    "two_proportion_z_test",
    "welch_t_test",
]

Metric = Literal["mean", "proportion"]
_NORMAL = NormalDist()
_ALL_EQUAL = "every outcome is the same in both arms: no test is possible"
_OVERFLOW = (
    "the outcome values are too large: a mean or variance overflows float64, so no test is possible"
)


def required_sample_sizes(
    metric: Metric,
    minimum_detectable_effect: float,
    baseline: float,
    alpha: float = 0.05,
    power: float = 0.8,
    treatment_share: float = 0.5,
) -> tuple[int, int]:
    """(control, treatment) outcomes needed to detect an absolute difference of
    `minimum_detectable_effect` (d) with probability `power` in a two-sided test at level
    `alpha`.

    With k = n_t / n_c = share / (1 - share), z_a = Phi^-1(1 - alpha/2), z_b = Phi^-1(power):
    - "mean" (sd = baseline): n_c = (z_a + z_b)^2 sd^2 (1 + 1/k) / d^2;
    - "proportion" (p1 = baseline, p2 = p1 + d, pbar = (p1 + k p2) / (1 + k)):
      n_c = (z_a sqrt(pbar(1-pbar)(1 + 1/k)) + z_b sqrt(p1(1-p1) + p2(1-p2)/k))^2 / d^2;
    and n_t = k n_c, each rounded up (at least 2). Equal arms, alpha 0.05, power 0.8, sd 1,
    d 0.2: 393 per arm.
    """
    z_a = _NORMAL.inv_cdf(1 - alpha / 2)
    z_b = _NORMAL.inv_cdf(power)
    k = treatment_share / (1 - treatment_share)
    delta = minimum_detectable_effect
    if metric == "mean":
        control = (z_a + z_b) ** 2 * baseline**2 * (1 + 1 / k) / delta**2
    else:
        p1, p2 = baseline, baseline + delta
        pooled = (p1 + k * p2) / (1 + k)
        null_sd = math.sqrt(pooled * (1 - pooled) * (1 + 1 / k))
        alternative_sd = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / k)
        control = (z_a * null_sd + z_b * alternative_sd) ** 2 / delta**2
    # Rounded first, so float noise on an exact answer (392.0000000001) does not add one; at
    # least 2 per arm, as a variance needs.
    return max(2, math.ceil(round(control, 6))), max(2, math.ceil(round(k * control, 6)))


@dataclass(frozen=True)
class ArmComparison:
    """A two-sample comparison: the effect (treatment - control), its confidence interval at
    1 - alpha, the test statistic and the two-sided p-value (None when no test is possible),
    Welch's degrees of freedom (None for a z-test), and a `note` saying why when the data are
    a special case (no variance, values too large)."""

    effect: float
    ci_low: float | None
    ci_high: float | None
    statistic: float | None
    p_value: float | None
    degrees_of_freedom: float | None = None
    note: str = ""


def welch_t_test(
    control: npt.ArrayLike, treatment: npt.ArrayLike, alpha: float = 0.05
) -> ArmComparison:
    """Welch's unequal-variance t-test: t = (m_t - m_c) / se with
    se = sqrt(s_c^2/n_c + s_t^2/n_t), Welch-Satterthwaite degrees of freedom
    df = se^4 / ((s_c^2/n_c)^2/(n_c-1) + (s_t^2/n_t)^2/(n_t-1)), and the interval
    effect +- t(1 - alpha/2, df) se. Both samples need at least two values.

    With no variance in either arm (se = 0) the means are known exactly: equal means give no
    test (p None), different ones a certain difference (t infinite, p = 0, the interval the
    effect itself)."""
    from scipy import special

    c = np.asarray(control, dtype=np.float64)
    t = np.asarray(treatment, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported by the note
        effect = float(t.mean() - c.mean())
        var_c, var_t = float(c.var(ddof=1) / c.size), float(t.var(ddof=1) / t.size)
    if not math.isfinite(effect + var_c + var_t):
        return ArmComparison(effect, None, None, None, None, note=_OVERFLOW)
    variance = var_c + var_t
    se = math.sqrt(variance)
    if se == 0.0 and effect == 0.0:
        return ArmComparison(effect, None, None, None, None, note=_ALL_EQUAL)
    if se == 0.0:
        statistic = math.copysign(math.inf, effect)
        note = (
            "each arm's outcomes are all one value and the two values differ: the "
            "difference is certain (p = 0, an interval of zero width), not estimated"
        )
        return ArmComparison(effect, effect, effect, statistic, 0.0, None, note)
    # The same df, with each arm's share of the variance: squares of variances can overflow.
    share_c, share_t = var_c / variance, var_t / variance
    df = 1 / (share_c**2 / (c.size - 1) + share_t**2 / (t.size - 1))
    statistic = effect / se
    p_value = float(2 * special.stdtr(df, -abs(statistic)))
    half = float(special.stdtrit(df, 1 - alpha / 2)) * se
    return ArmComparison(effect, effect - half, effect + half, statistic, p_value, float(df))


def two_proportion_z_test(
    control: npt.ArrayLike, treatment: npt.ArrayLike, alpha: float = 0.05
) -> ArmComparison:
    """The two-proportion z-test on 0/1 outcomes: z = (p_t - p_c) /
    sqrt(pbar(1-pbar)(1/n_c + 1/n_t)) with the pooled rate pbar (the null hypothesis's
    variance), and the Wald interval effect +- z(1 - alpha/2) sqrt(p_c(1-p_c)/n_c +
    p_t(1-p_t)/n_t)."""
    c = np.asarray(control, dtype=np.float64)
    t = np.asarray(treatment, dtype=np.float64)
    p_c, p_t = float(c.mean()), float(t.mean())
    effect = p_t - p_c
    pooled = (c.sum() + t.sum()) / (c.size + t.size)
    null_se = math.sqrt(pooled * (1 - pooled) * (1 / c.size + 1 / t.size))
    se = math.sqrt(p_c * (1 - p_c) / c.size + p_t * (1 - p_t) / t.size)
    half = _NORMAL.inv_cdf(1 - alpha / 2) * se
    if null_se == 0.0:  # every outcome in both arms the same
        return ArmComparison(effect, effect - half, effect + half, None, None, note=_ALL_EQUAL)
    statistic = effect / null_se
    p_value = math.erfc(abs(statistic) / math.sqrt(2))  # 2 (1 - Φ(|z|))
    return ArmComparison(effect, effect - half, effect + half, statistic, p_value)


def sample_ratio_p_value(control: int, treatment: int, treatment_share: float) -> float | None:
    """The chi-square goodness-of-fit test (1 degree of freedom) of the arms' counts against
    the planned split: X2 = sum((observed - expected)^2 / expected), p = P(chi2_1 > X2) =
    erfc(sqrt(X2/2)). None while either expected count is below 5 (the approximation's
    rule)."""
    total = control + treatment
    expected_t = total * treatment_share
    expected_c = total - expected_t
    if min(expected_c, expected_t) < 5:
        return None
    chi2 = (control - expected_c) ** 2 / expected_c + (treatment - expected_t) ** 2 / expected_t
    return math.erfc(math.sqrt(chi2 / 2))
