"""Self-contained HTML quality reports (inline CSS, charts as base64 PNG, no script, nothing
fetched): of a view, a drift comparison, a service's feature importance, an experiment, and
the whole project. Each function returns the document as a string."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cinefeat.errors import CinefeatError
from cinefeat.quality._alerts import list_alerts
from cinefeat.quality._experiments import ABTestFramework
from cinefeat.quality._importance_store import latest_importance
from cinefeat.quality._report_drift import describe_sample, drift_body
from cinefeat.quality._report_html import (
    DASH,
    Html,
    badge,
    join,
    kpis,
    number,
    page,
    paragraph,
    score_badge,
    section,
    slug,
    table,
    tag,
    when,
)
from cinefeat.quality._report_models import experiment_section, find_experiment, importance_section
from cinefeat.quality._report_view import alerts_table, view_section, view_summary
from cinefeat.quality._samples import read_view_sample
from cinefeat.quality._score import QualityScore, overall_score

if TYPE_CHECKING:
    from cinefeat.quality._drift import DriftThresholds
    from cinefeat.store import FeatureStore

__all__ = [
    "drift_report",
    "experiment_report",
    "importance_report",
    "project_report",
    "view_report",
]

OVERVIEW_CHARTS = 6  # distribution charts per view in the project report (view reports: all)


def view_report(store: FeatureStore, view: str) -> str:
    """A view's report: quality score and firing alerts from its latest monitoring check; the
    score, freshness and null rates of every check as line charts; the PSI per feature of the
    last check that measured drift; and the profile of the latest write (a stats table and a
    chart per feature, with the previous write for comparison). An unknown view raises
    FeatureNotFoundError."""
    definition = store.get_feature_view(view)
    subtitle = f"Project {store.project}: quality report of feature view {view}"
    return page(f"{view}: feature quality", subtitle, view_section(store, definition))


def drift_report(
    store: FeatureStore,
    view: str,
    reference: Any,
    current: Any = "latest",
    *,
    thresholds: DriftThresholds | None = None,
) -> str:
    """Compare `current` with `reference`, both samples of the managed view's stored rows (a
    Delta version as an int or "7"/"v7", an event-time range "START..END" of the latest
    version, "latest" for every row now) or dataframes: the PSI per feature, the table of
    tests (`detect_drift`) and each feature's two distributions."""
    definition = store.get_feature_view(view)
    before = read_view_sample(store, definition, reference, "reference")
    after = read_view_sample(store, definition, current, "current")
    for frame, what in ((before, "reference"), (after, "current")):
        if frame.is_empty():
            raise CinefeatError(f"{what}: the {what} sample of {view} has no rows")
    _, body = drift_body(definition, before, after, thresholds)
    subtitle = (
        f"Project {store.project}: {view}, {describe_sample(reference)} "
        f"({before.height:,} rows) against {describe_sample(current)} ({after.height:,} rows)"
    )
    return page(f"{view}: drift", subtitle, body)


def importance_report(store: FeatureStore, service: str) -> str:
    """The latest stored importance ranking of feature service `service` (see
    `service_importance`); CinefeatError when none is stored, FeatureNotFoundError when the
    service does not exist."""
    result = latest_importance(store, service)
    if result is None:
        raise CinefeatError(
            f"service {service!r}: no importance result is stored; compute one with "
            f"`cinefeat importance --service {service} --label COLUMN --entity-df PATH`"
        )
    subtitle = f"Project {store.project}: feature service {service}, label {result.label}"
    return page(f"{service}: feature importance", subtitle, importance_section(service, result))


def experiment_report(store: FeatureStore, experiment_id: str) -> str:
    """An offline experiment's definition and latest stored result (decision, effect with its
    interval, per-fold metrics, earlier runs), or an online experiment's plan and the analysis
    of its outcomes so far (not stored). ExperimentNotFoundError for an unknown id."""
    summary = find_experiment(store, experiment_id)
    subtitle = f"Project {store.project}: {summary.mode} experiment {experiment_id}"
    body = experiment_section(store, experiment_id)
    return page(f"Experiment {summary.name}", subtitle, body)


def project_report(store: FeatureStore) -> str:
    """The project's report: its quality score (the mean of its views' latest scores), a table
    of views (score, firing alerts, latest write) linking to each view's section, then the
    sections, then each service's stored importance and each experiment."""
    views = store.list_feature_views()
    summaries = [view_summary(store, view) for view in views]
    scored = [QualityScore(s.view, s.score) for s in summaries if s.score is not None]
    overall = overall_score(scored).score if scored else None
    firing = sum(s.firing for s in summaries)
    rankings = [(s.name, latest_importance(store, s.name)) for s in store.list_feature_services()]
    importance = [(name, result) for name, result in rankings if result is not None]
    experiments = ABTestFramework(store).list_experiments()

    headline = kpis(
        [
            ("project quality score", score_badge(overall)),
            ("views", str(len(views))),
            ("views checked", str(len(scored))),
            ("firing alerts", badge(str(firing), "bad" if firing else "good")),
            ("experiments", str(len(experiments))),
        ]
    )
    rows = [
        [
            tag("a", s.view, href="#" + slug("view", s.view)),
            f"v{s.version}",
            score_badge(s.score),
            badge(str(s.firing), "bad" if s.firing else "good"),
            when(s.checked_at) if s.checked_at else "never",
            number(s.latest_rows),
        ]
        for s in summaries
    ]
    headers = ["view", "version", "score", "firing alerts", "last check", "rows in latest write"]
    overview: list[object] = [
        headline,
        paragraph(
            "The score of a view (0-100) is a weighted mean of completeness (0.25), validity "
            "(0.25), uniqueness (0.20), freshness (0.15) and stability (0.15) at its latest "
            "monitoring check; the project's is the mean over the checked views.",
            class_="note",
        ),
        table(headers, rows, numeric=("rows in latest write",))
        if rows
        else paragraph("No feature views are registered."),
    ]
    if firing:
        alerts = list_alerts(store.registry.quality_records(), None, "firing")
        overview.append(tag("h3", "Firing alerts"))
        overview.append(alerts_table(alerts, with_view=True))
    if importance:
        links = [tag("a", name, href="#" + slug("importance", name)) for name, _ in importance]
        overview.append(paragraph("Feature importance: ", Html(", ".join(links))))
    if experiments:
        overview.append(
            table(
                ["experiment", "mode", "created", "decision"],
                [
                    [
                        tag("a", e.name, href="#" + slug("experiment", e.experiment_id)),
                        e.mode,
                        when(e.created_at),
                        e.decision or DASH,
                    ]
                    for e in experiments
                ],
            )
        )
    parts: list[object] = [section("overview", "Overview", *overview)]
    parts += [view_section(store, view, max_charts=OVERVIEW_CHARTS) for view in views]
    parts += [importance_section(name, result) for name, result in importance]
    parts += [experiment_section(store, e.experiment_id) for e in experiments]
    title = f"{store.project}: feature quality"
    return page(
        title,
        f"Project {store.project}: every feature view, importance and experiment",
        join(parts),
    )
