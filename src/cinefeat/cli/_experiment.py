"""`cinefeat experiment ...`: create, run, show and list A/B tests of feature sets. This module
holds the offline commands; `experiment_app` is the group other modules add commands to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from cinefeat.cli._entity_df import read_entity_df

if TYPE_CHECKING:
    from cinefeat.quality import ExperimentResult

__all__ = ["experiment_app", "parse_features"]

experiment_app = typer.Typer(
    help="A/B tests of feature sets: offline (cross-validated on a training set) and online.",
    no_args_is_help=True,
)
console = Console()

RepoOption = Annotated[Path, typer.Option("--repo", "-r", help="Repo directory.")]
FeaturesOption = Annotated[
    list[str],
    typer.Option(help="Feature refs (view:feature, comma-separated or repeated) or a service."),
]


def parse_features(values: list[str]) -> list[str] | str:
    """`--control a:x,b:y --control c:z` -> the refs; a single name without ':' -> a service."""
    items = [item.strip() for value in values for item in value.split(",") if item.strip()]
    if len(items) == 1 and ":" not in items[0]:
        return items[0]
    return items


@experiment_app.command()
def create(
    name: Annotated[str, typer.Argument(help="A name, unique in the project.")],
    control: FeaturesOption,
    treatment: FeaturesOption,
    label: Annotated[str, typer.Option(help="The entity_df column to predict.")],
    metric: Annotated[str, typer.Option(help="rmse, auc or ndcg.")] = "rmse",
    folds: Annotated[int, typer.Option(help="Folds (user groups).")] = 5,
    model: Annotated[str, typer.Option(help="lightgbm or hist_gb.")] = "lightgbm",
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    seed: Annotated[int, typer.Option(help="Seed of the split, models and bootstrap.")] = 0,
    user_column: Annotated[str, typer.Option(help="The entity_df column of users.")] = "user_id",
    ndcg_k: Annotated[int, typer.Option(help="k of NDCG@k.")] = 10,
    description: Annotated[str, typer.Option(help="What the experiment is about.")] = "",
    repo: RepoOption = Path("."),
) -> None:
    """Define an offline experiment: the same model trained on --control's features and on
    --treatment's. Prints the new experiment's id."""
    from cinefeat.quality import ABTestFramework
    from cinefeat.store import FeatureStore

    with FeatureStore(repo) as store:
        experiment_id = ABTestFramework(store).create_experiment(
            name, parse_features(control), parse_features(treatment), label, metric,
            model=model, folds=folds, alpha=alpha, seed=seed, user_column=user_column,
            ndcg_k=ndcg_k, description=description,
        )  # fmt: skip
    print(experiment_id)


def _print_result(result: ExperimentResult) -> None:
    table = Table(title=f"{result.name} ({result.experiment_id})", title_justify="left")
    for column in ("fold", "train rows", "test rows", "test users", "control", "treatment"):
        table.add_column(column, justify="right")
    for fold in result.folds:
        table.add_row(
            str(fold.fold),
            f"{fold.train_rows:,}",
            f"{fold.test_rows:,}",
            f"{fold.test_users:,}",
            f"{fold.control:.4f}",
            f"{fold.treatment:.4f}",
        )
    table.add_row(
        "mean", "", "", "", f"{result.control_metric:.4f}", f"{result.treatment_metric:.4f}"
    )
    console.print(table)
    style = {"treatment": "green", "control": "red"}.get(result.decision, "yellow")
    console.print(f"decision: {result.decision}", style=style, highlight=False)
    console.print(str(result), highlight=False, markup=False)


@experiment_app.command()
def run(
    experiment_id: Annotated[str, typer.Argument(help="The experiment's id (exp-...).")],
    entity_df: Annotated[
        Path,
        typer.Option(help="Parquet or CSV: join keys, event_timestamp, user column and label."),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    figure: Annotated[
        Path | None, typer.Option(help="Also save the result's chart here (.png, .svg).")
    ] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Run an offline experiment on a training set built for --entity-df, store and show the
    result: decision, p-value, effect with its confidence interval, per-fold metrics."""
    from cinefeat.quality import ABTestFramework
    from cinefeat.store import FeatureStore

    frame = read_entity_df(entity_df)
    with FeatureStore(repo) as store:
        result = ABTestFramework(store).run_experiment(experiment_id, frame)
    if figure is not None:
        result.figure().savefig(figure)
    if as_json:
        print(json.dumps(result.to_dict()))
    else:
        _print_result(result)


@experiment_app.command()
def show(
    experiment_id: Annotated[str, typer.Argument(help="The experiment's id (exp-...).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print spec and result as JSON.")] = False,
    repo: RepoOption = Path("."),
) -> None:
    """An experiment's definition and its latest result."""
    from cinefeat.quality import ABTestFramework, ExperimentResult
    from cinefeat.store import FeatureStore

    with FeatureStore(repo) as store:
        records = store.registry.quality_records()
        spec = records.get_document("experiment", experiment_id, "spec")
        if spec is None:
            ABTestFramework(store).get_experiment(experiment_id)  # raises: no such experiment
            return
        # Offline runs store a "result"; online analyses an "analysis".
        online = spec.body.get("mode") == "online"
        latest = records.get_document(
            "experiment", experiment_id, "analysis" if online else "result"
        )
    if as_json:
        print(json.dumps({"spec": spec.body, "result": None if latest is None else latest.body}))
        return
    table = Table(title=f"experiment {experiment_id}", title_justify="left", show_header=False)
    table.add_column("field")
    table.add_column("value")
    for key, value in spec.body.items():
        if isinstance(value, dict) and "refs" in value:
            value = ", ".join(value["refs"]) + (
                f" (service {value['service']})" if value.get("service") else ""
            )
        table.add_row(key, str(value))
    console.print(table)
    if latest is None and online:
        console.print(f"not analysed yet: cinefeat experiment analyze {experiment_id}")
    elif latest is None:
        console.print("not run yet")
    elif spec.body.get("mode") == "offline":
        _print_result(ExperimentResult.from_dict(latest.body))
    else:
        console.print_json(data=latest.body)


@experiment_app.command("list")
def list_experiments(
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
    repo: RepoOption = Path("."),
) -> None:
    """Every experiment of the project (offline and online), newest first."""
    from cinefeat.quality import ABTestFramework
    from cinefeat.store import FeatureStore

    with FeatureStore(repo) as store:
        experiments = ABTestFramework(store).list_experiments()
    if as_json:
        rows = [
            {
                "experiment_id": e.experiment_id,
                "name": e.name,
                "mode": e.mode,
                "created_at": e.created_at.isoformat(),
                "decision": e.decision,
            }
            for e in experiments
        ]
        print(json.dumps(rows))
        return
    if not experiments:
        console.print("no experiments yet")
        return
    table = Table(title="experiments", title_justify="left")
    for column in ("id", "name", "mode", "created", "decision"):
        table.add_column(column)
    for e in experiments:
        table.add_row(
            e.experiment_id,
            e.name,
            e.mode,
            e.created_at.strftime("%Y-%m-%d %H:%M"),
            e.decision or "-",
        )
    console.print(table)
