"""`cinefeat datasets ...`: load real data into a repo, or write seeded synthetic data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from cinefeat.sources import LoadResult

__all__ = ["datasets_app"]

datasets_app = typer.Typer(
    help="Load TMDB/MovieLens data, or generate synthetic data.", no_args_is_help=True
)
console = Console()


class DatasetKind(StrEnum):
    tmdb = "tmdb"
    tmdb5000 = "tmdb5000"
    movielens = "movielens"


def _report(result: LoadResult) -> None:
    style = "green" if not result.quarantined_count else "yellow"
    console.print(f"[{style}]{result.summary()}[/]")
    if result.normalised:
        table = Table(title="normalised (accepted with a documented repair)", title_justify="left")
        table.add_column("rule")
        table.add_column("rows", justify="right")
        for rule, count in result.normalised.items():
            table.add_row(rule, f"{count:,}")
        console.print(table)
    for error in result.errors:
        console.print(f"[red]unreadable:[/] {error}", highlight=False, markup=False)


@datasets_app.command("load")
def load(
    kind: Annotated[DatasetKind, typer.Argument(help="What PATH holds.")],
    path: Annotated[Path, typer.Argument(help="A file or a directory.")],
    repo: Annotated[
        Path, typer.Option("--repo", "-r", help="Repo to write into (holds cinefeat.yaml).")
    ] = Path("."),
    snapshot: Annotated[
        str | None,
        typer.Option(help="Snapshot time of a TMDB crawl (default: from file names, else mtime)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Read and report, write nothing.")] = False,
) -> None:
    """Read PATH, print read = accepted + quarantined, and write both into the repo's offline
    store (movies -> tmdb_movies, ratings -> rating_events, rejects -> the quarantine table)."""
    from cinefeat.cli import parse_time
    from cinefeat.sources import load_movielens, load_tmdb, load_tmdb5000

    when = parse_time(snapshot) if snapshot else None
    if kind is DatasetKind.tmdb:
        result = load_tmdb(path, when)
    elif kind is DatasetKind.tmdb5000:
        result = load_tmdb5000(path, when)
    else:
        result = load_movielens(path)
    _report(result)
    if dry_run:
        return
    from cinefeat.store import FeatureStore

    report = FeatureStore(repo).ingest(result)
    written, quarantine = report.written, report.quarantine
    already = result.accepted_count - written.rows
    console.print(
        f"wrote {written.rows:,} new rows to {written.table} (Delta version "
        f"{written.delta_version})"
        + (f"; {already:,} were already stored" if already else "")
        + f"; {quarantine.rows:,} new quarantined records"
        + (f" (quarantine Delta version {quarantine.delta_version})" if quarantine.rows else "")
    )


@datasets_app.command("synth")
def synth(
    out: Annotated[Path, typer.Option(help="Directory to write into.")] = Path("data/raw"),
    movies: Annotated[int, typer.Option(min=1, help="Movies in the catalogue.")] = 2_000,
    users: Annotated[int, typer.Option(min=1, help="Users who rate.")] = 5_000,
    days: Annotated[int, typer.Option(min=1, help="Days of daily crawls and ratings.")] = 30,
    start: Annotated[
        str | None, typer.Option(help="First day (default: DAYS days before today).")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same files.")
    ] = 42,
) -> None:
    """Write seeded synthetic TMDB daily crawls (JSON Lines list pages) and MovieLens-format
    ratings, in the shapes of the real sources."""
    from cinefeat.cli import parse_time
    from cinefeat.sources.synthetic import WorldConfig, generate_world, write_world

    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = parse_time(start) if start else today - timedelta(days=days)
    config = WorldConfig(movies=movies, users=users, days=days, start=first, seed=seed)
    world = generate_world(config)
    written = write_world(world, out)
    console.print(
        f"wrote {world.snapshots.height:,} movie-snapshot records and {world.ratings.height:,} "
        f"ratings to {out}:"
    )
    for kind, files in written.items():
        console.print(f"  {kind}: {len(files)} file(s), e.g. {files[0]}")
