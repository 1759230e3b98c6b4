"""Report sections about models: a feature service's stored importance ranking, and an A/B
experiment (offline: the stored result of the cross-validated comparison; online: the
fixed-horizon analysis of the outcomes so far, computed without storing it)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from cinefeat.quality._experiment_spec import ExperimentSummary, FeatureSet
from cinefeat.quality._experiments import ABTestFramework
from cinefeat.quality._online_analysis import ArmSummary, analyze_online_experiment
from cinefeat.quality._online_experiments import get_online_experiment
from cinefeat.quality._online_spec import ExperimentNotFoundError
from cinefeat.quality._report_html import (
    DASH,
    Html,
    badge,
    details,
    figure_block,
    join,
    key_values,
    kpis,
    number,
    paragraph,
    percent,
    section,
    slug,
    table,
    tag,
    when,
)
from cinefeat.quality._report_plots import online_experiment_figure, png_data_uri

if TYPE_CHECKING:
    from cinefeat.quality._importance_result import ImportanceResult
    from cinefeat.store import FeatureStore

__all__ = ["experiment_section", "find_experiment", "importance_section"]

_DECISION_TONES = {"treatment": "good", "control": "warn", "inconclusive": "muted"}


def _score(value: float | None, digits: int = 4) -> str:
    return DASH if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def importance_section(service: str, result: ImportanceResult, *, level: int = 2) -> Html:
    """The ranked features of `service` for predicting the result's label."""
    top = result.features[0].feature if result.features else DASH
    headline = kpis(
        [
            (f"validation {result.metric}", _score(result.validation_score)),
            ("labelled rows", number(result.rows_used)),
            ("features ranked", str(len(result.features))),
            ("most important", top),
        ]
    )
    split = (
        f"the latest {result.validation_rows:,} rows by {result.split_column}"
        if result.split == "time"
        else f"a random {result.validation_rows:,} rows (seed {result.seed})"
    )
    intro = paragraph(
        f"Importance for predicting {result.label} ({result.task}, {result.model}), computed "
        f"{when(result.created_at)}. Held out: {split}. Permutation importance is the drop in "
        f"validation {result.metric} when one feature's held-out values are shuffled (mean of "
        f"{result.n_repeats} shuffles, ± one standard deviation); about 0 means the model does "
        "not need the feature. Mutual information (nats) is model-free; gain is the feature's "
        "share of the model's split gain.",
        class_="note",
    )
    figure = figure_block(png_data_uri(result.figure()), f"{service}: feature importance")
    rows = [
        [
            str(item.rank),
            item.feature,
            item.kind,
            _score(item.permutation_mean),
            _score(item.permutation_std),
            _score(item.mutual_info),
            percent(item.gain),
        ]
        for item in result.features
    ]
    drop = f"drop in {result.metric}"
    headers = ["rank", "feature", "kind", drop, "± std", "mutual info", "gain"]
    ranking = table(headers, rows, numeric=("rank", drop, "± std", "mutual info", "gain"))
    facts = key_values(
        [
            (
                "rows",
                f"{result.train_rows:,} to train, {result.validation_rows:,} held out, "
                f"{result.rows_dropped:,} without a label dropped",
            ),
            ("shuffles", f"{result.n_repeats} per feature on {result.permutation_rows:,} rows"),
            ("mutual information from", f"{result.mutual_info_rows:,} rows"),
            (
                "tables read",
                ", ".join(f"{k} (Delta version {v})" for k, v in result.table_versions.items())
                or DASH,
            ),
            *((f"skipped {name}", reason) for name, reason in result.skipped.items()),
            *(("note", note) for note in result.notes),
        ]
    )
    title = f"Feature importance: {service}"
    return section(
        slug("importance", service),
        title,
        headline,
        intro,
        figure,
        ranking,
        details("how it was measured", facts),
        level=level,
    )


def find_experiment(store: FeatureStore, experiment_id: str) -> ExperimentSummary:
    for summary in ABTestFramework(store).list_experiments():
        if summary.experiment_id == experiment_id:
            return summary
    raise ExperimentNotFoundError(f"experiment {experiment_id!r}: no such experiment")


def _features(features: FeatureSet) -> Html:
    refs = join((tag("code", ref) for ref in features.refs), ", ")
    return refs + f" (service {features.service})" if features.service else refs


def _offline(store: FeatureStore, experiment_id: str) -> list[object]:
    framework = ABTestFramework(store)
    spec = framework.get_experiment(experiment_id)
    about = key_values(
        [
            ("description", spec.description or DASH),
            ("control features", _features(spec.control)),
            ("treatment features", _features(spec.treatment)),
            ("label, metric", f"{spec.label}, {spec.metric}"),
            (
                "model, folds, test",
                f"{spec.model}, {spec.folds} folds, {spec.test}-test at alpha {spec.alpha:g}",
            ),
            ("created", when(spec.created_at)),
        ]
    )
    result = framework.get_result(experiment_id)
    if result is None:
        return [about, paragraph(badge("not run yet", "muted"))]
    better = "lower" if result.metric == "rmse" else "higher"
    headline = kpis(
        [
            ("decision", badge(result.decision, _DECISION_TONES.get(result.decision, "muted"))),
            (f"control {result.metric}", number(result.control_metric)),
            (f"treatment {result.metric}", number(result.treatment_metric)),
            ("effect (treatment - control)", f"{result.effect:+.4g}"),
            (f"{result.confidence:.0%} interval", f"{result.ci_low:+.4g} .. {result.ci_high:+.4g}"),
            ("p-value", f"{result.p_value:.3g}"),
        ]
    )
    method = paragraph(
        f"{result.test} over {result.n_users:,} test users in {len(result.folds)} folds "
        f"(training rows up to {when(result.cutoff)}, test rows after); {better} {result.metric} "
        f"is better. Effect size (Cohen's dz) {result.effect_size:+.3g}; interval from a "
        "bootstrap over users.",
        class_="note",
    )
    figure = figure_block(png_data_uri(result.figure()), f"{result.name}: per-fold metrics")
    folds = table(
        ["fold", "train rows", "test rows", "test users", "control", "treatment"],
        [
            [
                str(f.fold),
                number(f.train_rows),
                number(f.test_rows),
                number(f.test_users),
                number(f.control),
                number(f.treatment),
            ]
            for f in result.folds
        ],
        numeric=("fold", "train rows", "test rows", "test users", "control", "treatment"),
    )
    history = framework.result_history(experiment_id)
    runs = table(
        ["run at", "decision", "effect", "interval", "p-value"],
        [
            [
                when(r.created_at),
                r.decision,
                f"{r.effect:+.4g}",
                f"{r.ci_low:+.4g} .. {r.ci_high:+.4g}",
                f"{r.p_value:.3g}",
            ]
            for r in history
        ],
        numeric=("effect", "interval", "p-value"),
    )
    return [about, headline, method, figure, folds, details(f"all {len(history)} runs", runs)]


def _arm_row(arm: str, service: str, summary: ArmSummary) -> list[object]:
    progress = summary.outcomes / summary.required if summary.required else 1.0
    counts = (summary.outcomes, summary.units, summary.required)
    sample = (summary.analyzed, summary.mean, summary.std)
    return [
        arm,
        service,
        *(number(value) for value in counts),
        percent(min(progress, 1.0), 0),
        *(number(value) for value in sample),
    ]


def _online(store: FeatureStore, experiment_id: str) -> list[object]:
    spec = get_online_experiment(store, experiment_id)
    about = key_values(
        [
            ("services", f"control {spec.control_service}, treatment {spec.treatment_service}"),
            (
                "outcome",
                f"{spec.metric} ({'higher' if spec.higher_is_better else 'lower'} is better)",
            ),
            (
                "planned",
                f"detect {spec.minimum_detectable_effect:g} (baseline {spec.baseline:g}) at "
                f"alpha {spec.alpha:g}, power {spec.power:g}; treatment share "
                f"{spec.treatment_share:g}",
            ),
            ("units", ", ".join(spec.unit_keys)),
            (
                "status",
                f"{spec.status}, created {when(spec.created_at)}"
                + (f", stopped {when(spec.stopped_at)}" if spec.stopped_at else ""),
            ),
        ]
    )
    result = analyze_online_experiment(store, experiment_id, save=False)
    tone = _DECISION_TONES.get(result.decision, "muted") if result.status == "complete" else "muted"
    interval = (
        DASH
        if result.ci_low is None or result.ci_high is None
        else f"{result.ci_low:+.4g} .. {result.ci_high:+.4g}"
    )
    headline = kpis(
        [
            ("analysis", badge(result.status, "good" if result.status == "complete" else "warn")),
            ("decision", badge(result.decision, tone)),
            (
                "effect (treatment - control)",
                DASH if result.effect is None else f"{result.effect:+.4g}",
            ),
            (f"{1 - result.alpha:.0%} interval", interval),
            ("p-value", DASH if result.p_value is None else f"{result.p_value:.3g}"),
            (
                "sample ratio check",
                badge("mismatch", "bad") if result.srm_flagged else badge("ok", "good"),
            ),
        ]
    )
    headers = [
        "arm",
        "service",
        "outcomes",
        "units",
        "required",
        "progress",
        "analysed",
        "mean",
        "std",
    ]
    arms = table(
        headers,
        [
            _arm_row("control", spec.control_service, result.control),
            _arm_row("treatment", spec.treatment_service, result.treatment),
        ],
        numeric=headers[2:],
    )
    outcomes = store.registry.quality_records().outcomes(experiment_id)
    is_treatment = np.array([o.arm == "treatment" for o in outcomes], dtype=bool)
    times = np.array([o.at.replace(tzinfo=None) for o in outcomes], dtype="datetime64[us]")
    figure = online_experiment_figure(
        {
            "control": (np.sort(times[~is_treatment]), spec.required_control),
            "treatment": (np.sort(times[is_treatment]), spec.required_treatment),
        },
        {
            arm: (summary.mean, summary.std, summary.analyzed)
            for arm, summary in (("control", result.control), ("treatment", result.treatment))
        },
        spec.metric,
    )
    messages = [paragraph(message, class_="note") for message in result.messages]
    chart = figure_block(png_data_uri(figure), f"{spec.name}: outcomes and arm means")
    return [about, headline, arms, chart, *messages]


def experiment_section(store: FeatureStore, experiment_id: str, *, level: int = 2) -> Html:
    """An experiment of either mode (ExperimentNotFoundError for an unknown id)."""
    summary = find_experiment(store, experiment_id)
    body = (
        _offline(store, experiment_id)
        if summary.mode == "offline"
        else _online(store, experiment_id)
    )
    kind = tag("span", f"{summary.mode} experiment {experiment_id}", class_="muted")
    title = tag("span", summary.name) + " " + kind
    return section(slug("experiment", experiment_id), title, *body, level=level)
