"""`cinefeat importance --service S --label COLUMN --entity-df PATH`: rank a feature service's
features for predicting a label and store the result with the service; `--show` prints the
latest stored result."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from cinefeat.cli._entity_df import read_entity_df
from cinefeat.cli._format import format_number
from cinefeat.errors import CinefeatError

if TYPE_CHECKING:
    from cinefeat.quality import ImportanceResult

__all__ = ["importance", "importance_heading", "importance_table"]

console = Console()


class ModelChoice(StrEnum):
    lightgbm = "lightgbm"
    hist_gb = "hist_gb"


class TaskChoice(StrEnum):
    auto = "auto"
    regression = "regression"
    classification = "classification"


def importance_heading(result: ImportanceResult) -> str:
    """What was measured and how well the model did, in one line."""
    subject = f"{result.service}: " if result.service else ""
    split = (
        f"the latest {result.validation_rows:,} rows by {result.split_column}"
        if result.split == "time"
        else f"a random {result.validation_rows:,} rows"
    )
    return (
        f"{subject}importance for {result.label} ({result.task}, {result.model}); "
        f"{result.metric} {format_number(result.validation_score, '.4f')} on {split}"
    )


def importance_table(result: ImportanceResult) -> Table:
    """The ranked features as a rich table."""
    table = Table()
    drop = f"drop in {result.metric}"
    headers = ("rank", "feature", "kind", drop, "± std", "mutual info", "gain")
    for name in headers:
        table.add_column(name, justify="left" if name in ("feature", "kind") else "right")
    for item in result.features:
        table.add_row(
            str(item.rank),
            item.feature,
            item.kind,
            format_number(item.permutation_mean, ".4f"),
            format_number(item.permutation_std, ".4f"),
            format_number(item.mutual_info, ".4f"),
            format_number(item.gain, ".1%"),
        )
    return table


def _report(result: ImportanceResult) -> None:
    console.print(importance_heading(result), style="bold", highlight=False)
    console.print(importance_table(result))
    created = result.created_at.isoformat(timespec="seconds") if result.created_at else "-"
    console.print(
        f"{result.rows_used:,} labelled rows ({result.train_rows:,} to train, "
        f"{result.validation_rows:,} held out; {result.rows_dropped:,} without a label "
        f"dropped); {result.n_repeats} shuffles per feature on {result.permutation_rows:,} "
        f"rows; mutual information from {result.mutual_info_rows:,} rows; computed {created}",
        highlight=False,
    )
    for feature, reason in result.skipped.items():
        console.print(f"[yellow]skipped[/] {feature}: {reason}", highlight=False)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)


def importance(
    service: Annotated[str, typer.Option("--service", "-s", help="A feature service.")],
    label: Annotated[
        str | None, typer.Option("--label", "-l", help="The entity-df column to predict.")
    ] = None,
    entity_df: Annotated[
        Path | None,
        typer.Option(
            "--entity-df",
            help="Parquet or CSV of training examples: join keys, event_timestamp, the label.",
        ),
    ] = None,
    model: Annotated[ModelChoice, typer.Option(help="The gradient-boosting model.")] = (
        ModelChoice.lightgbm
    ),
    task: Annotated[
        TaskChoice, typer.Option(help="auto: text, booleans and 0/1 labels are classes.")
    ] = TaskChoice.auto,
    repeats: Annotated[int, typer.Option(min=1, help="Shuffles per feature.")] = 5,
    validation_fraction: Annotated[
        float, typer.Option(min=0.01, max=0.9, help="Share of rows held out (the latest).")
    ] = 0.25,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", "-x", help="Leave out this feature.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the model, shuffles and samples.")] = 0,
    plot: Annotated[Path | None, typer.Option(help="Also write a PNG bar chart here.")] = None,
    show: Annotated[
        bool, typer.Option("--show", help="Print the latest stored result; compute nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored JSON.")] = False,
    repo: Annotated[Path, typer.Option("--repo", "-r", help="Repo directory.")] = Path("."),
) -> None:
    """Rank the features of a feature service by permutation importance (with mutual
    information and model gain) for predicting --label, on the point-in-time training set of
    --entity-df; the result is stored with the service."""
    if not show and (label is None or entity_df is None):
        raise typer.BadParameter("give --label and --entity-df (or --show for the stored result)")
    from cinefeat.quality import latest_importance, service_importance
    from cinefeat.store import FeatureStore

    with FeatureStore(repo) as store:
        if show:
            result = latest_importance(store, service)
            if result is None:
                raise CinefeatError(
                    f"no importance result is stored for feature service {service!r}; compute "
                    f"one with: cinefeat importance --service {service} --label COLUMN "
                    "--entity-df PATH"
                )
        else:
            assert label is not None and entity_df is not None
            result = service_importance(
                store,
                service,
                read_entity_df(entity_df),
                label,
                model=model.value,
                task=task.value,
                n_repeats=repeats,
                validation_fraction=validation_fraction,
                exclude=list(exclude or []),
                seed=seed,
            )
    if plot is not None:
        result.plot(plot)
    if as_json:
        print(json.dumps(result.to_dict()))
        return
    _report(result)
    if plot is not None:
        console.print(f"plot written to {plot}", highlight=False)
    if not show:
        console.print(
            f"stored with feature service {service}; "
            f"`cinefeat importance --service {service} --show` prints it again",
            highlight=False,
        )
