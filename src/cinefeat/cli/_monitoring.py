"""`cinefeat monitor [VIEW ...]`: check views now (freshness, nulls, drift, rules) and record
it; `cinefeat alerts`: the alerts monitoring raised; `cinefeat score`: the quality score of
each view and of the project."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from cinefeat.quality import QualityScore
    from cinefeat.store import FeatureStore

__all__ = ["alerts", "latest_scores", "monitor", "score", "score_table"]

console = Console()
RepoOption = Annotated[Path, typer.Option("--repo", "-r", help="Repo directory.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def monitor(
    views: Annotated[list[str] | None, typer.Argument(help="Views (default: every one).")] = None,
    as_json: JsonOption = False,
    repo: RepoOption = Path("."),
) -> None:
    """Check VIEWS now, as after a pipeline run: record freshness, null rates, drift and the
    quality score, and raise or resolve alerts."""
    from cinefeat.quality import monitor_views
    from cinefeat.store import FeatureStore

    with FeatureStore(repo) as store:
        report = monitor_views(store, views or None, context="cli")
    if as_json:
        print(
            json.dumps(
                {
                    "checks": [c.to_dict() for c in report.checks],
                    "alerts": [a.to_dict() for a in report.alerts],
                }
            )
        )
        return
    table = Table(title="monitoring check", title_justify="left")
    for name in ("view", "new rows", "age (s)", "max null rate", "drifted", "score"):
        table.add_column(name, justify="left" if name in ("view", "drifted") else "right")
    for check in report.checks:
        rates = check.null_rates.values()
        table.add_row(
            check.view,
            f"{check.rows:,}",
            "-" if check.freshness_seconds is None else f"{check.freshness_seconds:,.0f}",
            f"{max(rates):.1%}" if rates and check.rows else "-",
            "-" if check.drift is None else ", ".join(check.drift.drifted_columns) or "none",
            "-" if check.score is None else f"{check.score.score:.1f}",
        )
    console.print(table)
    for alert in report.alerts:
        colour = "red" if alert.status == "firing" else "green"
        console.print(f"[{colour}]{alert.status}[/]: {alert.view} {alert.rule} {alert.message}")


def alerts(
    view: Annotated[str | None, typer.Option(help="Only this view's alerts.")] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Resolved alerts too (default: firing only).")
    ] = False,
    as_json: JsonOption = False,
    repo: RepoOption = Path("."),
) -> None:
    """The alerts monitoring raised, newest first: firing ones (with --all, resolved too)."""
    from cinefeat.quality import list_alerts
    from cinefeat.store import FeatureStore

    with FeatureStore(repo) as store:
        found = list_alerts(store.registry.quality_records(), view, None if show_all else "firing")
    if as_json:
        print(json.dumps([a.to_dict() for a in found]))
        return
    if not found:
        console.print("[green]no alerts[/]" if show_all else "[green]no firing alerts[/]")
        return
    table = Table(title=f"{len(found)} alerts", title_justify="left")
    for name in ("status", "view", "feature", "rule", "message", "since", "notified"):
        table.add_column(name)
    for alert in found:
        colour = "red" if alert.status == "firing" else "green"
        table.add_row(
            f"[{colour}]{alert.status}[/]",
            alert.view,
            alert.feature or "-",
            alert.rule,
            alert.message,
            alert.started_at[:19].replace("T", " "),
            str(alert.delivery.get("status", "-")),
        )
    console.print(table)


def latest_scores(store: FeatureStore) -> list[tuple[QualityScore, str]]:
    """Each view's score at its latest monitoring check, with the check's time (ISO 8601)."""
    from cinefeat.quality import MONITOR_KIND, QualityScore

    records = store.registry.quality_records()
    scores: list[tuple[QualityScore, str]] = []
    for view in store.list_feature_views():
        latest = records.list_documents(MONITOR_KIND, view.name, limit=1)
        if latest and latest[0].body.get("score"):
            body: dict[str, Any] = latest[0].body
            scores.append((QualityScore.from_dict(body["score"]), body["checked_at"]))
    return scores


def score_table(scores: list[tuple[QualityScore, str]]) -> Table:
    """Per view: score, its components and the time of day it was checked (UTC); the project's
    score in the title."""
    from cinefeat.quality import overall_score

    overall = overall_score([s for s, _ in scores])
    # Short headers and no column rules, so every name fits an 80-column terminal whole.
    table = Table(
        title=f"quality score: {overall.score:.1f} / 100",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    names = ("completeness", "validity", "uniqueness", "freshness", "stability")
    headers = ("complete", "valid", "unique", "fresh", "stable")
    table.add_column("view", no_wrap=True)
    for header in ("score", *headers):
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    table.add_column("UTC", no_wrap=True)
    for value, at in scores:
        parts = [f"{value.components[n]:.2f}" if n in value.components else "-" for n in names]
        table.add_row(value.view, f"{value.score:.1f}", *parts, at[11:16])  # HH:MM
    return table


def score(as_json: JsonOption = False, repo: RepoOption = Path(".")) -> None:
    """The quality score (0-100) of each view, from its latest monitoring check, and of the
    project (their mean). The formula: see docs/quality.md."""
    from cinefeat.quality import overall_score
    from cinefeat.store import FeatureStore

    with FeatureStore(repo) as store:
        scores = latest_scores(store)
    if as_json:
        overall = overall_score([s for s, _ in scores])
        print(
            json.dumps(
                {
                    "overall": overall.score,
                    "views": {s.view: {**s.to_dict(), "checked_at": at} for s, at in scores},
                }
            )
        )
        return
    if not scores:
        console.print("no view has been checked yet: run a pipeline or `cinefeat monitor`")
        return
    console.print(score_table(scores))
