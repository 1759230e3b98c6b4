"""`cinefeat report ...`: write a self-contained HTML quality report (the project, a view, a
drift comparison, a service's feature importance or an experiment) atomically, and print its
path."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cinefeat.errors import CinefeatError

if TYPE_CHECKING:
    from cinefeat.store import FeatureStore

__all__ = ["report_app", "write_atomically"]

report_app = typer.Typer(
    help="Write HTML quality reports with charts: the project (default), a view, drift, "
    "feature importance or an experiment. Open the file in any browser; it needs no network.",
)

RepoOption = Annotated[
    Path | None,
    typer.Option(
        "--repo", "-r", help="Repo directory (default: the one given before the command, or .)."
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="The HTML file to write (default: the one given before the command, or a name "
        "for the report in the working directory).",
        dir_okay=False,
    ),
]


@dataclass(frozen=True)
class _GroupOptions:
    """`cinefeat report -o FILE -r REPO COMMAND ...`: options given before the command, which
    apply to it unless it repeats them (its own win)."""

    output: Path | None
    repo: Path | None


def _checked(path: Path) -> Path:
    target = path.expanduser().absolute()
    if not target.parent.is_dir():
        raise CinefeatError(f"--output {path}: the directory {target.parent} does not exist")
    return target


def write_atomically(text: str, path: Path) -> Path:
    """Write `text` to `path` through a temporary file in the same directory, renamed over it:
    a reader sees the old file or the whole new one, and a failure leaves no partial file."""
    target = _checked(path)
    descriptor, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a report is meant to be shared
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _default(prefix: str, name: str) -> Path:
    """A default file name in the working directory, whatever characters `name` holds."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).lstrip(".")
    return Path(f"{prefix}-{cleaned}.html")


def _write(
    context: typer.Context,
    output: Path | None,
    repo: Path | None,
    default: Path,
    render: Callable[[FeatureStore], str],
) -> None:
    """Render with the store of the chosen repo and write the chosen file: the command's own
    option, else the group's, else the default."""
    from cinefeat.store import FeatureStore

    group = context.find_object(_GroupOptions) or _GroupOptions(None, None)
    target = output or group.output or default
    _checked(target)  # before the work of rendering
    with FeatureStore(repo or group.repo or Path(".")) as store:
        text = render(store)
    print(write_atomically(text, target))


@report_app.callback(invoke_without_command=True)
def report(context: typer.Context, output: OutputOption = None, repo: RepoOption = None) -> None:
    """Write an HTML quality report; without a command, of the whole project (report.html)."""
    # Click builds the command's context after this callback returns, from this one: the
    # command finds these options there.
    context.obj = _GroupOptions(output, repo)
    if context.invoked_subcommand is None:
        project(context)


@report_app.command()
def project(context: typer.Context, output: OutputOption = None, repo: RepoOption = None) -> None:
    """The whole project: its quality score, a table of views, each view's section, each
    service's stored importance and each experiment (default file: report.html)."""
    from cinefeat.quality import project_report

    _write(context, output, repo, Path("report.html"), project_report)


@report_app.command()
def view(
    context: typer.Context,
    name: Annotated[str, typer.Argument(metavar="VIEW", help="A feature view.")],
    output: OutputOption = None,
    repo: RepoOption = None,
) -> None:
    """One view: score, alerts, quality history, the last drift and the latest write's profile
    (default file: report-VIEW.html)."""
    from cinefeat.quality import view_report

    _write(context, output, repo, _default("report", name), lambda store: view_report(store, name))


@report_app.command()
def drift(
    context: typer.Context,
    name: Annotated[str, typer.Argument(metavar="VIEW", help="A managed feature view.")],
    reference: Annotated[
        str, typer.Option(help="Delta version (7), time range (START..END) or 'latest'.")
    ],
    current: Annotated[str, typer.Option(help="The same forms; default: every row now.")] = (
        "latest"
    ),
    output: OutputOption = None,
    repo: RepoOption = None,
) -> None:
    """VIEW's features in --current against --reference: PSI, tests and both distributions of
    each feature (default file: drift-VIEW.html)."""
    from cinefeat.quality import drift_report

    _write(
        context,
        output,
        repo,
        _default("drift", name),
        lambda store: drift_report(store, name, reference, current),
    )


@report_app.command()
def importance(
    context: typer.Context,
    service: Annotated[str, typer.Option("--service", "-s", help="A feature service.")],
    output: OutputOption = None,
    repo: RepoOption = None,
) -> None:
    """The latest stored importance ranking of --service (see `cinefeat importance`; default
    file: importance-SERVICE.html)."""
    from cinefeat.quality import importance_report

    _write(
        context,
        output,
        repo,
        _default("importance", service),
        lambda store: importance_report(store, service),
    )


@report_app.command()
def experiment(
    context: typer.Context,
    experiment_id: Annotated[str, typer.Argument(metavar="ID", help="The experiment's id.")],
    output: OutputOption = None,
    repo: RepoOption = None,
) -> None:
    """An offline experiment's latest result, or an online one's analysis so far (default
    file: experiment-ID.html)."""
    from cinefeat.quality import experiment_report

    _write(
        context,
        output,
        repo,
        _default("experiment", experiment_id),
        lambda store: experiment_report(store, experiment_id),
    )
