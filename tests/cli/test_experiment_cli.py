"""`cinefeat experiment create|run|show|list` on a repo with an informative and a noise
feature (the repo of tests/quality/test_experiments.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cinefeat.cli import app
from tests.cli.test_cli import cinefeat
from tests.quality.test_experiments import build_repo


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ab_cli") / "repo"
    build_repo(path).write_parquet(path / "ratings.parquet")
    return path


def invoke(*args: str, repo: Path) -> str:
    result = CliRunner().invoke(app, [*args, "--repo", str(repo)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
    return result.output


def test_create_run_show_list(repo: Path) -> None:
    experiment_id = invoke(
        "experiment", "create", "signal-cli",
        "--control", "base",
        "--treatment", "user_stats:user_bias,movie_stats:popularity",
        "--treatment", "events:signal",
        "--label", "rating", "--metric", "rmse", "--folds", "4",
        repo=repo,
    ).strip()  # fmt: skip
    assert experiment_id.startswith("exp-") and len(experiment_id) == 16

    figure = repo / "signal.png"
    out = invoke(
        "experiment", "run", experiment_id, "--entity-df", str(repo / "ratings.parquet"),
        "--json", "--figure", str(figure),
        repo=repo,
    )  # fmt: skip
    result = json.loads(out)
    assert result["decision"] == "treatment" and result["p_value"] < 0.05
    assert len(result["folds"]) == 4
    assert result["control_features"] == ["user_stats:user_bias", "movie_stats:popularity"]
    assert figure.read_bytes().startswith(b"\x89PNG")

    shown = invoke("experiment", "show", experiment_id, repo=repo)
    assert "decision: treatment" in shown and "base" in shown and "paired t-test" in shown
    stored = json.loads(invoke("experiment", "show", experiment_id, "--json", repo=repo))
    assert stored["spec"]["mode"] == "offline" and stored["spec"]["folds"] == 4
    assert stored["result"] == result

    listed = json.loads(invoke("experiment", "list", "--json", repo=repo))
    assert [(e["name"], e["mode"], e["decision"]) for e in listed] == [
        ("signal-cli", "offline", "treatment")
    ]
    assert "signal-cli" in invoke("experiment", "list", repo=repo)


def test_run_as_a_table(repo: Path) -> None:
    experiment_id = invoke(
        "experiment", "create", "noise-cli", "--control", "base",
        "--treatment", "user_stats:user_bias,movie_stats:popularity,events:noise",
        "--label", "rating", "--folds", "3",
        repo=repo,
    ).strip()  # fmt: skip
    out = invoke(
        "experiment", "run", experiment_id, "--entity-df", str(repo / "ratings.parquet"),
        repo=repo,
    )  # fmt: skip
    assert "train rows" in out and "mean" in out
    assert "decision: inconclusive" in out or "decision: control" in out


def test_errors_are_clean(repo: Path) -> None:
    missing = cinefeat(
        "experiment", "create", "bad", "--control", "base", "--treatment", "events:nope",
        "--label", "rating", "--repo", str(repo),
        cwd=repo,
    )  # fmt: skip
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: treatment features:")
    assert "no feature 'nope'" in missing.stderr and "Traceback" not in missing.stderr
    # In-process the error propagates to `main`, which prints it as above.
    unknown = CliRunner().invoke(
        app, ["experiment", "run", "exp-000000000000", "--entity-df", "nowhere.parquet"]
    )
    assert unknown.exit_code == 1
    assert str(unknown.exception) == "--entity-df nowhere.parquet: no such file"
    no_such = CliRunner().invoke(app, ["experiment", "show", "exp-000000000000", "-r", str(repo)])
    assert "no such experiment" in str(no_such.exception)


def test_an_unreadable_entity_df_is_a_one_line_error(repo: Path, tmp_path: Path) -> None:
    # `experiment run` had its own reader, which let Polars' error out as a traceback.
    (tmp_path / "bad.parquet").write_text("not parquet")
    (tmp_path / "ratings.txt").write_text("user_id,rating\n1,4\n")
    bad = cinefeat(
        "experiment", "run", "exp-000000000000", "--entity-df", "bad.parquet",
        "--repo", str(repo),
        cwd=tmp_path,
    )  # fmt: skip
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert " ".join(bad.stderr.split()).startswith(
        "error: --entity-df bad.parquet: cannot read it: Could not open Parquet input source"
    )
    suffix = CliRunner().invoke(
        app, ["experiment", "run", "exp-0", "--entity-df", str(tmp_path / "ratings.txt")]
    )
    assert str(suffix.exception) == (
        f"--entity-df {tmp_path / 'ratings.txt'}: give a .parquet or .csv file"
    )
