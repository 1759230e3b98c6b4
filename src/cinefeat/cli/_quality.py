"""`cinefeat drift VIEW --reference ...`: compare a view's stored features now with a
reference (a Delta version, or an event-time range) and show which features drifted.
`cinefeat stats VIEW`: profile a view's stored features."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cinefeat.cli._format import table_cell
from cinefeat.errors import CinefeatError

__all__ = ["drift", "stats"]

console = Console()


def drift(
    view: Annotated[str, typer.Argument(help="A managed feature view.")],
    reference: Annotated[
        str, typer.Option(help="Delta version (7), time range (START..END) or 'latest'.")
    ],
    current: Annotated[str, typer.Option(help="The same forms; default: every row now.")] = (
        "latest"
    ),
    feature: Annotated[
        list[str] | None, typer.Option("--feature", "-f", help="Only these features.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    repo: Annotated[Path, typer.Option("--repo", "-r", help="Repo directory.")] = Path("."),
) -> None:
    """Which features of VIEW drifted between --reference and --current (KS and PSI for
    numbers; chi-square, PSI and Jensen-Shannon for categories)."""
    from cinefeat.quality import detect_drift, read_view_sample
    from cinefeat.store import FeatureStore

    with FeatureStore(repo) as store:
        definition = store.get_feature_view(view)
        columns = list(feature) if feature else list(definition.feature_names)
        before = read_view_sample(store, definition, reference, "reference")
        after = read_view_sample(store, definition, current, "current")
    if before.is_empty() or after.is_empty():
        empty = "reference" if before.is_empty() else "current"
        raise CinefeatError(f"the {empty} sample of {view} has no rows")
    report = detect_drift(before, after, columns)
    if as_json:
        print(json.dumps(report.to_dict(), default=str))
        return
    table = Table(
        title=f"{view}: {before.height:,} reference rows vs {after.height:,} current rows",
        title_justify="left",
    )
    for name in ("feature", "test", "statistic", "p-value", "PSI", "JS", "drifted"):
        table.add_column(name, justify="left" if name in ("feature", "test") else "right")
    for name, column in report.columns.items():
        row: list[Any] = [
            name,
            column.test,
            f"{column.statistic:.4g}",
            f"{column.p_value:.3g}",
            f"{column.psi:.3f}",
            "-" if column.js_distance is None else f"{column.js_distance:.3f}",
            "[red]yes[/]" if column.drifted else "no",
        ]
        table.add_row(*row)
    console.print(table)
    drifted = report.drifted_columns
    console.print(
        f"[red]drifted: {', '.join(drifted)}[/]" if drifted else "[green]no feature drifted[/]"
    )


def stats(
    view: Annotated[str, typer.Argument(help="A managed feature view.")],
    sample: Annotated[
        str | None,
        typer.Option(
            help="Profile stored rows now instead: Delta version (7), time range "
            "(START..END) or 'latest'."
        ),
    ] = None,
    commit: Annotated[
        int | None,
        typer.Option(help="The stored profile of this Delta version's commit (of --view-version)."),
    ] = None,
    view_version: Annotated[
        int | None,
        typer.Option(help="With --commit: the view version whose table it is (default: current)."),
    ] = None,
    history: Annotated[
        bool, typer.Option("--history", help="List the stored profiles of every commit.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the profile as JSON.")] = False,
    repo: Annotated[Path, typer.Option("--repo", "-r", help="Repo directory.")] = Path("."),
) -> None:
    """The profile of VIEW's features: count, nulls, distinct values, range, quantiles, mean,
    standard deviation and the most common values. By default the profile stored with the
    newest commit (what it wrote); --sample profiles the stored rows now."""
    from cinefeat.quality import list_write_profiles, profile_frame, read_view_sample
    from cinefeat.store import FeatureStore

    with FeatureStore(repo) as store:
        definition = store.get_feature_view(view)
        stored = list_write_profiles(store.registry.quality_records(), view)
        if history:
            _print_history(view, stored, as_json)
            return
        if commit is not None:
            # Each view version has a table of its own, with Delta versions from 0.
            version = view_version if view_version is not None else definition.version
            stored = [p for p in stored if p.delta_version == commit and p.version == version]
            if not stored:
                raise CinefeatError(
                    f"no profile is stored for {view} v{version} Delta version {commit}"
                )
        if sample is None and stored:
            chosen = stored[0]
            profile = chosen.profile
            title = (
                f"{view}: {profile.rows:,} rows written by the {chosen.operation} that made "
                f"Delta version {chosen.delta_version} (view v{chosen.version}, "
                f"{chosen.written_at:%Y-%m-%d %H:%M:%S} UTC)"
            )
        else:
            frame = read_view_sample(store, definition, sample or "latest", "sample")
            profile = profile_frame(frame, list(definition.feature_names))
            title = f"{view}: {profile.rows:,} rows stored ({sample or 'latest'})"
    if as_json:
        print(json.dumps(profile.to_dict(), default=str))
        return
    if profile.sampled_rows:
        title += f"; shape from a sample of {profile.sampled_rows:,}"
    table = Table(title=title, title_justify="left")
    headers = ("feature", "dtype", "nulls", "distinct", "min", "p50", "max", "mean", "std", "top")
    for name in headers:
        table.add_column(name, justify="left" if name in ("feature", "dtype", "top") else "right")
    for name, column in profile.columns.items():
        top = f"{table_cell(column.top[0][0])} ({column.top[0][1]:,})" if column.top else "-"
        table.add_row(
            name,
            column.dtype,
            f"{column.null_rate:.1%}",
            f"{column.distinct:,}",
            table_cell(column.min),
            table_cell(column.quantiles.get("p50")),
            table_cell(column.max),
            table_cell(column.mean),
            table_cell(column.std),
            top,
        )
    console.print(table)


def _print_history(view: str, profiles: list[Any], as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "delta_version": p.delta_version,
                        "version": p.version,
                        "operation": p.operation,
                        "written_at": p.written_at.isoformat(),
                        "rows": p.profile.rows,
                    }
                    for p in profiles
                ]
            )
        )
        return
    table = Table(title=f"{view}: profiles of {len(profiles)} commits", title_justify="left")
    for name in ("Delta version", "view version", "operation", "written at (UTC)", "rows"):
        table.add_column(name)
    for p in profiles:
        table.add_row(
            str(p.delta_version),
            f"v{p.version}",
            p.operation,
            f"{p.written_at:%Y-%m-%d %H:%M:%S}",
            f"{p.profile.rows:,}",
        )
    console.print(table)
