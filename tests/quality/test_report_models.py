"""Reports of models on the repo of test_report.py: a service's stored importance ranking, an
offline experiment's result and an online experiment's analysis so far."""

from __future__ import annotations

from pathlib import Path

import pytest

from cinefeat import FeatureStore
from cinefeat.errors import CinefeatError, FeatureNotFoundError
from cinefeat.quality import (
    ABTestFramework,
    ExperimentNotFoundError,
    analyze_online_experiment,
    experiment_report,
    importance_report,
    latest_importance,
)
from cinefeat.quality._report_html import number
from tests.quality.test_report import SCRIPT, build_report_repo, check


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[FeatureStore, dict[str, str]]:
    path: Path = tmp_path_factory.mktemp("report_models") / "repo"
    ids = build_report_repo(path)
    return FeatureStore(path), ids


def test_importance_report(repo: tuple[FeatureStore, dict[str, str]]) -> None:
    store, _ = repo
    result = latest_importance(store, "ranking_v1")
    assert result is not None and result.ranking[0] == "popularity"
    found = check(importance_report(store, "ranking_v1"))
    words = found.words
    assert "Feature importance: ranking_v1" in words and "popularity most important" in words
    first = result.features[0]
    assert f"1 popularity numeric {first.permutation_mean:.4f} {first.permutation_std:.4f}" in words
    assert f"{result.validation_score:.4f} validation r2 2,000 labelled rows" in words
    assert len(found.images) == 1
    with pytest.raises(CinefeatError, match="'votes_only': no importance result is stored"):
        importance_report(store, "votes_only")
    with pytest.raises(FeatureNotFoundError):
        importance_report(store, "nope")


def test_offline_experiment_report(repo: tuple[FeatureStore, dict[str, str]]) -> None:
    store, ids = repo
    result = ABTestFramework(store).get_result(ids["offline"])
    assert result is not None and result.decision == "treatment"  # popularity drives the label
    document = experiment_report(store, ids["offline"])
    words = check(document).words
    assert f"offline experiment {ids['offline']}" in words
    assert f"treatment decision {number(result.control_metric)} control rmse" in words
    assert f"{result.effect:+.4g} effect (treatment - control)" in words
    assert f"{result.ci_low:+.4g} .. {result.ci_high:+.4g} 95% interval" in words
    assert "popularity &lt;b&gt;helps&lt;/b&gt;" in document and SCRIPT not in document
    assert len(check(document).images) == 1
    with pytest.raises(ExperimentNotFoundError, match="'exp-nope': no such experiment"):
        experiment_report(store, "exp-nope")


def test_online_experiment_report(repo: tuple[FeatureStore, dict[str, str]]) -> None:
    store, ids = repo
    analysis = analyze_online_experiment(store, ids["online"], save=False)
    found = check(experiment_report(store, ids["online"]))
    words = found.words
    control, treatment = analysis.control, analysis.treatment
    assert control.outcomes + treatment.outcomes == 80 and control.required == 63
    assert "collecting analysis inconclusive decision" in words
    progress = f"{control.outcomes / 63:.0%}"
    assert f"control ranking_v1 {control.outcomes} {control.units} 63 {progress}" in words
    assert f"treatment votes_only {treatment.outcomes} {treatment.units} 63" in words
    assert "a fixed-horizon test is only valid at its horizon" in words
    assert len(found.images) == 1
    # The report analyses without storing the analysis.
    records = store.registry.quality_records()
    assert records.get_document("experiment", ids["online"], "analysis") is None
