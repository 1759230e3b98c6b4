"""`cinefeat experiment create-online | analyze | stop`: online A/B tests of two feature
services (traffic split by the server), sized up front and analysed at a fixed horizon."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from cinefeat.cli._format import format_number

if TYPE_CHECKING:
    from cinefeat.quality import ArmSummary, OnlineExperiment, OnlineExperimentResult

__all__ = ["analyze", "create_online", "register_online_commands", "stop"]

console = Console()
notes = Console(stderr=True)

RepoOption = Annotated[Path, typer.Option("--repo", "-r", help="Repo directory.")]
IdArgument = Annotated[str, typer.Argument(help="The experiment's id (exp-...).")]


def create_online(
    name: Annotated[str, typer.Argument(help="A name, unique in the project.")],
    control: Annotated[str, typer.Option(help="The control arm's feature service.")],
    treatment: Annotated[str, typer.Option(help="The treatment arm's feature service.")],
    metric: Annotated[
        str, typer.Option(help="mean (a continuous outcome) or proportion (0/1 outcomes).")
    ],
    mde: Annotated[float, typer.Option(help="Minimum detectable effect: an absolute difference.")],
    baseline: Annotated[
        float, typer.Option(help="The outcome's standard deviation (mean) or rate (proportion).")
    ],
    alpha: Annotated[float, typer.Option(help="Significance level (two-sided).")] = 0.05,
    power: Annotated[float, typer.Option(help="Chance to detect an effect of --mde.")] = 0.8,
    share: Annotated[float, typer.Option(help="Share of units in treatment.")] = 0.5,
    unit: Annotated[
        list[str] | None,
        typer.Option(help="Join key(s) of the randomisation unit (default: control's keys)."),
    ] = None,
    lower_is_better: Annotated[
        bool, typer.Option("--lower-is-better", help="A smaller outcome is the better one.")
    ] = False,
    repo: RepoOption = Path("."),
) -> None:
    """Create an online experiment (the server starts splitting traffic for requests naming
    it). Prints its id; the sample size it needs goes to stderr."""
    from cinefeat.quality import create_online_experiment
    from cinefeat.store import FeatureStore

    with FeatureStore(repo) as store:
        experiment = create_online_experiment(
            store, name, control, treatment, metric=metric,  # type: ignore[arg-type]
            minimum_detectable_effect=mde, baseline=baseline, alpha=alpha, power=power,
            treatment_share=share, unit_keys=unit, higher_is_better=not lower_is_better,
        )  # fmt: skip
    print(experiment.id)
    notes.print(
        f"{experiment.name}: needs {experiment.required_control:,} control and "
        f"{experiment.required_treatment:,} treatment outcomes (alpha {experiment.alpha:g}, "
        f"power {experiment.power:g}, effect {experiment.minimum_detectable_effect:g}); "
        f"units: {', '.join(experiment.unit_keys)}",
        highlight=False,
        markup=False,
    )


def _arm_row(arm: str, service: str, summary: ArmSummary) -> list[str]:
    return [
        arm,
        service,
        f"{summary.outcomes:,}",
        f"{summary.units:,}",
        f"{summary.analyzed:,} / {summary.required:,}",
        format_number(summary.mean),
        format_number(summary.std),
    ]


def _print_analysis(experiment: OnlineExperiment, result: OnlineExperimentResult) -> None:
    table = Table(
        title=f"{experiment.name} ({experiment.id}, {experiment.status}): {result.test}",
        title_justify="left",
    )
    for column in ("arm", "service", "outcomes", "units", "analysed / required", "mean", "std"):
        table.add_column(column, justify="left" if column in ("arm", "service") else "right")
    table.add_row(*_arm_row("control", experiment.control_service, result.control))
    table.add_row(*_arm_row("treatment", experiment.treatment_service, result.treatment))
    console.print(table)
    if result.status == "complete":
        console.print(
            f"effect (treatment - control): {format_number(result.effect)}  "
            f"{1 - result.alpha:.0%} CI [{format_number(result.ci_low)}, "
            f"{format_number(result.ci_high)}]  "
            f"p = {format_number(result.p_value, '.3g')}",
            highlight=False,
        )
    srm = "-" if result.srm_p_value is None else f"{result.srm_p_value:.3g}"
    console.print(f"sample ratio check: p = {srm}", highlight=False)
    style = {"treatment": "green", "control": "red"}.get(result.decision, "yellow")
    console.print(f"{result.status}; decision: {result.decision}", style=style, highlight=False)
    for message in result.messages:
        console.print(f"- {message}", highlight=False, markup=False)


def analyze(
    experiment_id: IdArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print the analysis as JSON.")] = False,
    repo: RepoOption = Path("."),
) -> None:
    """Analyse an online experiment's outcomes (fixed horizon: no effect or p-value before both
    arms reach their sample size), store and show the analysis."""
    from cinefeat.quality import analyze_online_experiment, get_online_experiment
    from cinefeat.store import FeatureStore

    with FeatureStore(repo) as store:
        experiment = get_online_experiment(store, experiment_id)
        result = analyze_online_experiment(store, experiment_id)
    if as_json:
        print(json.dumps(result.to_dict()))
    else:
        _print_analysis(experiment, result)


def stop(experiment_id: IdArgument, repo: RepoOption = Path(".")) -> None:
    """Stop an online experiment: the server serves control to everyone and refuses outcomes."""
    from cinefeat.quality import stop_online_experiment
    from cinefeat.store import FeatureStore

    with FeatureStore(repo) as store:
        experiment = stop_online_experiment(store, experiment_id)
    console.print(
        f"stopped {experiment.id} ({experiment.name}): every entity now gets "
        f"{experiment.control_service}; outcomes are refused",
        highlight=False,
        markup=False,
    )


def register_online_commands(app: typer.Typer) -> None:
    """Add `create-online`, `analyze` and `stop` to `app` (the `cinefeat experiment` group)."""
    app.command("create-online")(create_online)
    app.command("analyze")(analyze)
    app.command("stop")(stop)
