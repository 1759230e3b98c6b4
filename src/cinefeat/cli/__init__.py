"""The `cinefeat` command line: a thin Typer layer over FeatureStore."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from cinefeat.cli._datasets import datasets_app
from cinefeat.cli._experiment import experiment_app
from cinefeat.cli._importance import importance
from cinefeat.cli._monitoring import alerts, monitor, score
from cinefeat.cli._online_experiment import register_online_commands
from cinefeat.cli._pipeline import pipeline_app
from cinefeat.cli._quality import drift, stats
from cinefeat.cli._report import report_app
from cinefeat.errors import CinefeatError

if TYPE_CHECKING:
    from cinefeat.store import FeatureStore

__all__ = ["app", "main"]

app = typer.Typer(
    name="cinefeat",
    help="cinefeat: a feature store for movie-recommendation ML.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
features_app = typer.Typer(help="List and describe feature views.", no_args_is_help=True)
app.add_typer(features_app, name="features")
app.add_typer(datasets_app, name="datasets")
app.add_typer(experiment_app, name="experiment")
register_online_commands(experiment_app)
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(report_app, name="report")
app.command("alerts")(alerts)
app.command("drift")(drift)
app.command("importance")(importance)
app.command("monitor")(monitor)
app.command("score")(score)
app.command("stats")(stats)
console = Console()
errors = Console(stderr=True)

RepoOption = Annotated[
    Path, typer.Option("--repo", "-r", help="Repo directory (holds cinefeat.yaml).")
]


def _store(repo: Path) -> FeatureStore:
    from cinefeat.store import FeatureStore

    return FeatureStore(repo)


def parse_time(value: str) -> datetime:
    """ISO 8601 date or datetime, or 'now'; times without a zone are UTC."""
    if value.strip().lower() == "now":
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a time; use ISO 8601 like 2024-03-01 or 2024-03-01T12:00:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the repo.")] = Path(
        "cinefeat_repo"
    ),
) -> None:
    """Create a working example repo: config, feature definitions and sample data."""
    from cinefeat.cli._template import write_example_repo

    end = write_example_repo(directory)
    console.print(f"[green]Created[/] an example repo in [bold]{directory}[/]. Next:")
    console.print(f"  cd {directory}")
    console.print("  cinefeat apply")
    console.print("  cinefeat pipeline run pipeline.yaml")
    console.print(f"  cinefeat materialize-incremental {end.date().isoformat()}")
    console.print("  cinefeat get-online -f user_stats:rating_count -e user_id=1")


@app.command()
def plan(repo: RepoOption = Path(".")) -> None:
    """Show what `apply` would change; breaking changes are marked."""
    from cinefeat.cli._render import diff_table
    from cinefeat.repo import load_repo

    contents = load_repo(repo)
    diff = _store(repo).plan(contents.objects(), prune=True)
    console.print(diff_table(diff, "plan") if diff.has_changes else "No changes.")


@app.command()
def apply(repo: RepoOption = Path(".")) -> None:
    """Register the repo's definitions (all or nothing); remove what the repo no longer has."""
    from cinefeat.cli._render import diff_table
    from cinefeat.repo import load_repo

    contents = load_repo(repo)
    diff = _store(repo).apply(contents.objects(), prune=True)
    if not diff.has_changes:
        console.print("No changes; the registry matches the repo.")
        return
    console.print(diff_table(diff, "applied"))
    for change in diff.breaking:
        if change.kind == "feature_view" and change.new_version:
            earlier = ", ".join(f"{change.name}@v{v}" for v in range(1, change.new_version))
            console.print(
                f"[yellow]{change.name}[/] is now v{change.new_version}; earlier versions stay "
                f"readable as {earlier} (e.g. '{change.name}@v1:feature')."
            )


def _materialize_report(results: list[Any]) -> None:
    from cinefeat.cli._render import materialization_table

    console.print(materialization_table(results))


@app.command()
def materialize(
    start: Annotated[str, typer.Argument(help="Start of the event-time range (inclusive).")],
    end: Annotated[str, typer.Argument(help="End of the event-time range (inclusive).")],
    views: Annotated[
        list[str] | None, typer.Option("--view", "-v", help="Only these views (repeatable).")
    ] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Load the latest values with event time in [START, END] into the online store."""
    store = _store(repo)
    results = store.materialize(parse_time(start), parse_time(end), views, progress=True)
    _materialize_report(results)


@app.command("materialize-incremental")
def materialize_incremental(
    end: Annotated[str, typer.Argument(help="Materialize up to this time ('now' works).")],
    views: Annotated[
        list[str] | None, typer.Option("--view", "-v", help="Only these views (repeatable).")
    ] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Load what arrived since each view's watermark, up to END."""
    store = _store(repo)
    results = store.materialize_incremental(parse_time(end), views, progress=True)
    _materialize_report(results)


@features_app.command("list")
def features_list(repo: RepoOption = Path(".")) -> None:
    """List the registered feature views."""
    from cinefeat.cli._render import views_table

    store = _store(repo)
    views = store.list_feature_views()
    if not views:
        console.print("No feature views; write definitions and run `cinefeat apply`.")
        return
    console.print(views_table(views))
    for on_demand in store.list_on_demand_feature_views():
        inputs = ", ".join(s.view for s in on_demand.view_inputs)
        requests = ", ".join(f.name for f in on_demand.request_fields) or "-"
        console.print(
            f"on-demand [bold]{on_demand.name}[/]: {', '.join(on_demand.feature_names)} "
            f"(from {inputs}; request data: {requests})"
        )
    services = store.list_feature_services()
    for service in services:
        console.print(f"service [bold]{service.name}[/]: {', '.join(service.feature_refs())}")


@features_app.command("describe")
def features_describe(
    view: Annotated[str, typer.Argument(help="Feature view name.")],
    version: Annotated[int | None, typer.Option(help="A specific version.")] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Show a view's schema, versions, watermark and offline data."""
    from cinefeat.cli._render import describe_ttl, view_table

    store = _store(repo)
    if version is None and view in {v.name for v in store.list_on_demand_feature_views()}:
        _describe_on_demand(store, view)
        return
    fv = store.get_feature_view(view, version)
    console.print(view_table(fv))
    console.print(
        f"entities: {', '.join(fv.entity_names)}   ttl: {describe_ttl(fv.ttl_delta)}   "
        f"online: {fv.online}   owner: {fv.owner or '-'}"
    )
    console.print(
        f"event time column: {fv.event_timestamp_column}   "
        f"created column: {fv.created_column or '-'}"
    )
    versions = store.list_feature_view_versions(view)
    console.print("versions: " + ", ".join(f"v{v.version}" for v in versions))
    assert fv.version is not None
    mark = store.registry.get_watermark(fv.name, fv.version)
    console.print(f"watermark: {mark.event_time.isoformat() if mark else 'never materialized'}")
    if fv.is_managed:
        delta = store.offline_store.current_version(fv)
        console.print(
            f"offline table: {store.offline_store.table_path(fv)} (Delta version {delta})"
        )
    else:
        assert fv.source is not None
        console.print(f"source: {fv.source.path}")


def _describe_on_demand(store: FeatureStore, name: str) -> None:
    from rich.table import Table

    on_demand = store.get_on_demand_feature_view(name)
    table = Table(title=f"{name} (on demand): {on_demand.description}", title_justify="left")
    for column in ("feature", "dtype", "description"):
        table.add_column(column)
    for field in on_demand.schema:
        table.add_row(field.name, str(field.dtype), field.description)
    console.print(table)
    for source in on_demand.view_inputs:
        console.print(f"reads {source.view}: {', '.join(source.features)}")
    for field in on_demand.request_fields:
        console.print(f"request data: {field.name} ({field.dtype}) {field.description}")
    console.print(f"computed by {on_demand.udf.__name__}() at request time, online and offline")


def _entity_rows(entities: list[str]) -> list[dict[str, Any]]:
    columns: dict[str, list[Any]] = {}
    for item in entities:
        key, sep, values = item.partition("=")
        if not sep or not key or not values:
            raise typer.BadParameter(f"--entity {item!r}: write KEY=VALUE[,VALUE...]")
        columns[key.strip()] = [_scalar(v.strip()) for v in values.split(",")]
    lengths = {len(v) for v in columns.values()}
    if len(lengths) != 1:
        raise typer.BadParameter("every --entity must list the same number of values")
    n = lengths.pop()
    return [{k: v[i] for k, v in columns.items()} for i in range(n)]


def _scalar(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text


@app.command("get-online")
def get_online(
    features: Annotated[
        list[str] | None, typer.Option("--feature", "-f", help="view:feature (repeatable).")
    ] = None,
    service: Annotated[
        str | None, typer.Option("--service", "-s", help="A feature service.")
    ] = None,
    entities: Annotated[
        list[str] | None,
        typer.Option("--entity", "-e", help="KEY=VALUE[,VALUE...] (repeatable per key)."),
    ] = None,
    full_names: Annotated[bool, typer.Option(help="Name features view__feature.")] = False,
    repo: RepoOption = Path("."),
) -> None:
    """Look up the latest feature values of entities in the online store."""
    from cinefeat.cli._render import lookup_table

    if bool(features) == bool(service):
        raise typer.BadParameter("give --feature (one or more) or --service, not both")
    if not entities:
        raise typer.BadParameter("give at least one --entity KEY=VALUE")
    store = _store(repo)
    wanted: Any = service if service else list(features or [])
    response = store.get_online_features(wanted, _entity_rows(entities), full_names)
    console.print(lookup_table(response))


@app.command("write-offline")
def write_offline(
    view: Annotated[str, typer.Argument(help="A managed feature view.")],
    path: Annotated[Path, typer.Argument(help="A Parquet file of rows to append.")],
    repo: RepoOption = Path("."),
) -> None:
    """Append rows from a Parquet file to a managed view's Delta table (one atomic commit)."""
    import pyarrow.parquet as pq

    result = _store(repo).write_offline(view, pq.read_table(path))
    console.print(
        f"wrote {result.rows:,} rows to {result.table} (Delta version {result.delta_version})"
    )


@app.command()
def serve(
    repo: RepoOption = Path("."),
    host: Annotated[
        str, typer.Option(help="Address to bind; 0.0.0.0 exposes the server to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8001,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the repo over REST (Feast-compatible /get-online-features and /push, the registry
    under /api/v1, /metrics, /docs) until Ctrl-C. Needs `pip install 'cinefeat[server]'`."""
    from cinefeat.server import serve as run_server

    run_server(repo, host, port, workers)


@app.command()
def version() -> None:
    """Print the cinefeat version."""
    from cinefeat import __version__

    console.print(__version__)


def main() -> None:
    try:
        app()
    except (CinefeatError, OSError) as exc:
        errors.print(f"error: {exc}", style="red", highlight=False, markup=False)
        sys.exit(1)
