"""`cinefeat experiment create-online | analyze | stop` on a repo with two feature services:
in process (typer's CliRunner), and one real process for the clean error messages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cinefeat import Entity, FeatureService, FeatureStore, FeatureView, Field
from cinefeat.cli import app
from cinefeat.quality import assign_arm, entity_key, get_online_experiment, record_outcomes
from cinefeat.types import Float64, Int64
from tests.cli.test_cli import cinefeat

runner = CliRunner()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    (path / "cinefeat.yaml").write_text("project: online_ab\n")
    user = Entity("user", ["user_id"])
    users = FeatureView(
        "user_stats",
        [user],
        [Field("user_id", Int64), Field("avg_rating", Float64), Field("rating_count", Int64)],
    )
    with FeatureStore(path) as store:
        store.apply(
            [
                user,
                users,
                FeatureService("ranker_a", [users[["avg_rating"]]]),
                FeatureService("ranker_b", [users[["rating_count"]]]),
            ]
        )
    return path


def invoke(*args: str) -> str:
    result = runner.invoke(app, ["experiment", *args])
    assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
    return result.stdout


def create(repo: Path, *extra: str) -> str:
    result = runner.invoke(
        app,
        [
            "experiment", "create-online", "ranker b", "--control", "ranker_a",
            "--treatment", "ranker_b", "--metric", "mean", "--mde", "0.2", "--baseline", "1",
            "--repo", str(repo), *extra,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "needs 393 control and 393 treatment outcomes" in result.stderr
    experiment_id = result.stdout.strip()
    assert experiment_id.startswith("exp-") and len(experiment_id) == 16
    return experiment_id


def test_create_analyze_and_stop(repo: Path) -> None:
    experiment_id = create(repo)
    with FeatureStore(repo) as store:
        experiment = get_online_experiment(store, experiment_id)
        assert (experiment.control_service, experiment.treatment_service) == (
            "ranker_a",
            "ranker_b",
        )
        assert experiment.unit_keys == ("user_id",) and experiment.treatment_share == 0.5

    collecting = json.loads(invoke("analyze", experiment_id, "--json", "--repo", str(repo)))
    assert collecting["status"] == "collecting" and collecting["control"]["outcomes"] == 0

    # 1,200 users, one outcome each: noise, plus 0.5 for those the hash put in treatment.
    rng = np.random.default_rng(2)
    arms = [assign_arm(experiment, entity_key({"user_id": u}, ["user_id"])) for u in range(1_200)]
    values = rng.normal(3.0, 1.0, 1_200) + 0.5 * (np.array(arms) == "treatment")
    rows = [{"entity": {"user_id": u}, "value": float(v)} for u, v in enumerate(values)]
    with FeatureStore(repo) as store:
        assert record_outcomes(store, experiment_id, rows) == {
            "control": arms.count("control"),
            "treatment": arms.count("treatment"),
        }

    table = invoke("analyze", experiment_id, "--repo", str(repo))
    assert "complete; decision: treatment" in table
    assert "effect (treatment - control)" in table and "393 / 393" in table
    result = json.loads(invoke("analyze", experiment_id, "--json", "--repo", str(repo)))
    assert result["decision"] == "treatment" and 0.3 < result["effect"] < 0.7
    with FeatureStore(repo) as store:
        saved = store.registry.quality_records().get_document(
            "experiment", experiment_id, "analysis"
        )
        assert saved is not None and saved.body["decision"] == "treatment"
    shown = json.loads(invoke("show", experiment_id, "--json", "--repo", str(repo)))
    assert shown["spec"]["mode"] == "online" and shown["result"]["decision"] == "treatment"
    listed = json.loads(invoke("list", "--json", "--repo", str(repo)))
    assert [(e["experiment_id"], e["decision"]) for e in listed] == [(experiment_id, "treatment")]

    stopped = invoke("stop", experiment_id, "--repo", str(repo))
    assert f"stopped {experiment_id}" in stopped and "ranker_a" in stopped
    with FeatureStore(repo) as store:
        assert get_online_experiment(store, experiment_id).status == "stopped"


def test_the_options_reach_the_experiment(repo: Path) -> None:
    result = runner.invoke(
        app,
        [
            "experiment", "create-online", "clicks", "--control", "ranker_a",
            "--treatment", "ranker_b", "--metric", "proportion", "--mde", "0.02",
            "--baseline", "0.1", "--alpha", "0.01", "--power", "0.9", "--share", "0.25",
            "--unit", "user_id", "--lower-is-better", "--repo", str(repo),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with FeatureStore(repo) as store:
        experiment = get_online_experiment(store, result.stdout.strip())
    assert experiment.metric == "proportion" and experiment.alpha == 0.01
    assert experiment.power == 0.9 and experiment.treatment_share == 0.25
    assert not experiment.higher_is_better
    assert experiment.required_control > 3 * experiment.required_treatment - 3


def test_errors_are_clean_messages(repo: Path) -> None:
    bad = cinefeat(
        "experiment", "create-online", "x", "--control", "nope", "--treatment", "ranker_b",
        "--metric", "mean", "--mde", "0.2", "--baseline", "1", cwd=repo,
    )  # fmt: skip
    assert bad.returncode == 1
    assert "control_service: feature service 'nope' is not in the registry" in bad.stderr
    assert "Traceback" not in bad.stderr
    unknown = cinefeat("experiment", "analyze", "exp-000000000000", cwd=repo)
    assert unknown.returncode == 1 and "no online experiment" in unknown.stderr
