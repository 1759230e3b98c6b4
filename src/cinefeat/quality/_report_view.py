"""The section of a quality report about one feature view: score and firing alerts from the
latest monitoring check, the history of score, freshness and null rates, the drift the last
check measured, and the profile of the latest write (stats table and one chart per feature)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cinefeat.quality._alerts import Alert, list_alerts
from cinefeat.quality._monitor import MONITOR_KIND
from cinefeat.quality._profile import ColumnProfile
from cinefeat.quality._report_history import history_charts
from cinefeat.quality._report_html import (
    DASH,
    Html,
    badge,
    details,
    duration,
    figure_block,
    key_values,
    kpis,
    number,
    paragraph,
    percent,
    score_badge,
    section,
    shorten,
    slug,
    table,
    tag,
    when,
)
from cinefeat.quality._report_plots import png_data_uri, profile_figure, psi_figure
from cinefeat.quality._score import SCORE_WEIGHTS
from cinefeat.quality._write_profiles import WriteProfile, list_write_profiles

if TYPE_CHECKING:
    from cinefeat.definitions import FeatureView
    from cinefeat.registry import StoredDocument
    from cinefeat.store import FeatureStore

__all__ = ["ViewSummary", "alerts_table", "view_section", "view_summary"]

CHECKS_SEARCHED = 100  # monitoring checks looked through for the latest drift measurement
WRITES_LISTED = 10
_TIME_TYPES = ("Datetime", "Date", "Time", "Duration")  # profiled by range only: no chart


@dataclass(frozen=True)
class ViewSummary:
    """One row of the project table: a view's latest score and what fires."""

    view: str
    version: int
    score: float | None
    checked_at: datetime | None
    firing: int
    latest_rows: int | None


def view_summary(store: FeatureStore, view: FeatureView) -> ViewSummary:
    records = store.registry.quality_records()
    latest = records.list_documents(MONITOR_KIND, view.name, limit=1)
    score = (latest[0].body.get("score") or {}).get("score") if latest else None
    written = list_write_profiles(records, view.name, limit=1)
    return ViewSummary(
        view.name,
        view.version or 0,
        score,
        latest[0].created_at if latest else None,
        len(list_alerts(records, view.name, "firing")),
        written[0].profile.rows if written else None,
    )


def alerts_table(firing: list[Alert], *, with_view: bool = False) -> Html:
    """Firing alerts, newest first (with a column linking to each alert's view)."""
    if not firing:
        return paragraph(badge("none firing", "good"))
    rows = [
        [
            *([tag("a", a.view, href="#" + slug("view", a.view))] if with_view else []),
            badge("firing", "bad"),
            a.rule,
            a.feature or "(view)",
            a.message,
            number(a.value),
            number(a.threshold),
            when(a.started_at),
            str(a.delivery.get("status", DASH)),
        ]
        for a in firing
    ]
    headers = ["status", "rule", "feature", "message", "value", "threshold", "since", "notified"]
    return table(["view"] * with_view + headers, rows, numeric=("value", "threshold"))


def _drift(store: FeatureStore, view: FeatureView, checks: list[StoredDocument]) -> Html:
    measured = next((c.body for c in checks if c.body.get("psi")), None)
    if measured is None:
        return paragraph(
            "No check has measured drift yet: it needs two checks that saw new rows (each "
            "check's rows are compared with the previous check's).",
            class_="note",
        )
    psi = {name: value for name, value in measured["psi"].items() if value is not None}
    drifted = list(measured.get("drifted_features") or [])
    window = measured.get("window_versions") or [None, None]
    reference = measured.get("reference_versions") or [None, None]
    settings = store.config.quality.monitoring
    threshold = settings.drift_psi
    title = f"{view.name}: PSI per feature at the check of {when(measured['checked_at'])}"
    chart = (
        figure_block(png_data_uri(psi_figure(psi, drifted, threshold, title)), title)
        if psi
        else Html("")
    )
    verdict = (
        Html(f"{badge('drifted', 'bad')} ") + Html(", ".join(tag("strong", n) for n in drifted))
        if drifted
        else badge("no feature drifted", "good")
    )
    return Html(
        paragraph(verdict)
        + paragraph(
            f"Rows committed {_versions(window)} (event times {when(measured.get('window_start'))}"
            f" to {when(measured.get('window_end'))}) against the previous check's rows, "
            f"committed {_versions(reference)}. A feature is flagged when its test "
            f"rejects (p < {settings.drift_alpha:g}) and its PSI is at least {threshold:g} (for "
            f"categories, or the Jensen-Shannon distance at least {settings.drift_js:g}).",
            class_="note",
        )
        + chart
    )


def _description(view: FeatureView, name: str) -> str:
    if name == view.event_timestamp_column:
        return "event time"
    return view.field(name).description if name in view.feature_names else ""


def _top(column: ColumnProfile) -> str:
    if not column.top:
        return DASH
    value, count = column.top[0]
    return f"{shorten(_value(value), 24)} ({count / max(column.count, 1):.0%})"


def _profile(view: FeatureView, writes: list[WriteProfile], max_charts: int | None) -> Html:
    if not writes:
        reason = (
            "nothing has been written to it yet"
            if view.is_managed
            else "cinefeat does not write it (it reads its source in place)"
        )
        return paragraph(f"No write profile: {reason}.", class_="note")
    latest, previous = writes[0], (writes[1] if len(writes) > 1 else None)
    profile = latest.profile
    intro = (
        f"{profile.rows:,} rows written by the {latest.operation} that made Delta version "
        f"{latest.delta_version} (view v{latest.version}) at {when(latest.written_at)}"
    )
    if profile.sampled_rows:
        intro += (
            f"; quantiles, histograms and top values from a sample of {profile.sampled_rows:,} rows"
        )
    if previous is not None:
        intro += (
            f". Black outlines and ticks: the previous write (Delta version "
            f"{previous.delta_version}, {previous.profile.rows:,} rows)"
        )
    headers = [
        "feature",
        "dtype",
        "description",
        "nulls",
        "distinct",
        "min",
        "p50",
        "max",
        "mean",
        "std",
        "most common",
    ]
    rows = [
        [
            name,
            re.sub(r"\w+='?([^',)]+)'?", r"\1", c.dtype),  # Datetime(us, UTC)
            _description(view, name),
            percent(c.null_rate),
            number(c.distinct),
            _value(c.min),
            number(c.quantiles.get("p50")),
            _value(c.max),
            number(c.mean),
            number(c.std),
            _top(c),
        ]
        for name, c in profile.columns.items()
    ]
    charted = [n for n, c in profile.columns.items() if not c.dtype.startswith(_TIME_TYPES)]
    note = Html("")
    if max_charts is not None and len(charted) > max_charts:
        before = previous.profile.columns if previous else {}
        charted = sorted(charted, key=lambda n: -_change(profile.columns[n], before.get(n)))
        charted = charted[:max_charts]
        note = paragraph(
            f"Charts of the {max_charts} features that changed most since the previous write "
            f"(shift of the mean in standard deviations, plus the change of the null rate); "
            f"`cinefeat report view {view.name}` draws every feature.",
            class_="note",
        )
    charts = []
    for name in charted:
        earlier = previous.profile.columns.get(name) if previous else None
        figure = profile_figure(profile.columns[name], earlier)
        if figure is not None:
            charts.append(figure_block(png_data_uri(figure), f"{view.name}.{name}: distribution"))
    numeric = ("nulls", "distinct", "min", "p50", "max", "mean", "std")
    return Html(
        paragraph(intro + ".", class_="note")
        + table(headers, rows, numeric=numeric)
        + note
        + tag("div", *charts, class_="plots")
    )


def _versions(window: list[int | None]) -> str:
    """A window of Delta versions in words: 'in Delta versions 3 to 5'."""
    after, upto = window
    first = 0 if after is None else after + 1
    return f"in Delta version {upto}" if first == upto else f"in Delta versions {first} to {upto}"


def _change(now: ColumnProfile, before: ColumnProfile | None) -> float:
    """How much a feature moved between two writes: the shift of its mean in (current)
    standard deviations plus the change of its null rate (0 with nothing to compare)."""
    if before is None:
        return 0.0
    moved = abs(now.null_rate - before.null_rate)
    if now.mean is not None and before.mean is not None and now.std:
        moved += abs(now.mean - before.mean) / now.std
    return moved


def _value(value: Any) -> str:
    if isinstance(value, str) and "T" in value:  # an ISO time from the profile of a time column
        try:
            return when(value)
        except ValueError:
            return value
    return number(value)


def _writes(writes: list[WriteProfile]) -> Html:
    if len(writes) < 2:
        return Html("")
    rows = [
        [
            str(w.delta_version),
            f"v{w.version}",
            w.operation,
            when(w.written_at),
            number(w.profile.rows),
        ]
        for w in writes
    ]
    return details(
        f"the {len(writes)} most recent writes",
        table(
            ["Delta version", "view version", "operation", "written at", "rows"],
            rows,
            numeric=("rows",),
        ),
    )


def _components(score: dict[str, Any]) -> Html:
    components = score.get("components") or {}
    rows = [
        [
            name,
            f"{SCORE_WEIGHTS[name]:.2f}",
            number(components.get(name), 3) if name in components else "not measured",
        ]
        for name in SCORE_WEIGHTS
    ]
    return table(["component", "weight", "value (0-1)"], rows, numeric=("weight", "value (0-1)"))


def view_section(
    store: FeatureStore, view: FeatureView, *, level: int = 2, max_charts: int | None = None
) -> Html:
    """The report section of `view` (an applied FeatureView). `max_charts` caps the
    distribution charts of the latest write (the project report's overview draws those that
    changed most; each chart costs about 50 ms, and a view can have dozens of features)."""
    records = store.registry.quality_records()
    checks = records.list_documents(MONITOR_KIND, view.name, limit=CHECKS_SEARCHED)
    latest = checks[0].body if checks else None
    firing = list_alerts(records, view.name, "firing")
    writes = list_write_profiles(records, view.name, limit=WRITES_LISTED)
    score = (latest or {}).get("score") or {}
    headline = kpis(
        [
            ("quality score", score_badge(score.get("score"))),
            ("firing alerts", badge(str(len(firing)), "bad" if firing else "good")),
            ("last check", when(latest["checked_at"]) if latest else "never"),
            ("age of newest event", duration((latest or {}).get("freshness_seconds"))),
            ("rows in the latest write", number(writes[0].profile.rows) if writes else DASH),
            ("features", str(len(view.feature_names))),
        ]
    )
    about = key_values(
        [
            ("description", view.description or DASH),
            ("entities", ", ".join(view.entity_names)),
            ("owner", view.owner or DASH),
            ("storage", "managed (Delta table)" if view.is_managed else "source read in place"),
        ]
    )
    sub = level + 1
    parts: list[object] = [
        headline,
        about,
        section(slug("alerts", view.name), "Firing alerts", alerts_table(firing), level=sub),
        section(
            slug("history", view.name),
            "Quality over time",
            _components(score) if score else Html(""),
            history_charts(store, view, latest),
            level=sub,
        ),
        section(
            slug("drift", view.name),
            "Drift at the last check that measured it",
            _drift(store, view, checks),
            level=sub,
        ),
        section(
            slug("profile", view.name),
            "Latest write",
            _profile(view, writes, max_charts),
            _writes(writes),
            level=sub,
        ),
    ]
    title = Html(f"{tag('span', view.name)} {tag('span', f'v{view.version}', class_='muted')}")
    return section(slug("view", view.name), title, *parts, level=level)
