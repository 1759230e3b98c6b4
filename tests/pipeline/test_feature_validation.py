"""FeatureValidationStage with rules: a view's declared rules and the stage's YAML rules
quarantine exactly the rows that break them (with the rule as reason), or fail the run, or
only warn; the per-view results are stored in the registry; bad YAML rules are config errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cinefeat import CinefeatError, FeatureStore
from cinefeat.pipeline import Pipeline, PipelineConfigError
from tests.pipeline.test_runner import (
    add_crawls,
    add_ratings,
    expected,
    make_repo,
    stored,
    world_files,
)

__all__ = ["world_files"]  # the fixture, imported for pytest

PLAIN = "- {name: feature_validation, type: FeatureValidationStage}"


def with_rules(tmp_path: Path, world: Path, on_failure: str, limit: int) -> Path:
    repo = make_repo(tmp_path, mode="threads")
    params = (
        f"params: {{on_failure: {on_failure}, rules: "
        f"{{movie_basic: [{{rule: in_range, column: vote_count, max: {limit}}}]}}}}"
    )
    text = (repo / "pipeline.yaml").read_text()
    assert PLAIN in text
    (repo / "pipeline.yaml").write_text(text.replace(PLAIN, PLAIN[:-1] + ", " + params + "}"))
    add_crawls(repo, world, range(1, 3))
    add_ratings(repo, world, "early")
    return repo


def run(repo: Path) -> tuple[FeatureStore, object]:
    store = FeatureStore(repo)
    return store, Pipeline.from_file(repo / "pipeline.yaml", store).run(progress=False)


def median_votes(repo: Path) -> int:
    return int(expected(repo)["movie_basic"]["vote_count"].median())  # type: ignore[arg-type]


def test_rows_breaking_a_yaml_rule_are_quarantined_with_the_rule(
    tmp_path: Path, world_files: Path
) -> None:
    probe = with_rules(tmp_path / "probe", world_files, "quarantine", 0)
    limit = median_votes(probe)
    repo = with_rules(tmp_path, world_files, "quarantine", limit)
    store, record = run(repo)
    assert record.status == "succeeded"  # type: ignore[attr-defined]
    want = expected(repo)["movie_basic"]
    kept, broke = (
        want.filter(pl.col("vote_count") <= limit),
        want.filter(pl.col("vote_count") > limit),
    )
    assert 0 < broke.height < want.height
    got = stored(store, "movie_basic")
    assert sorted(got["movie_id"].to_list()) == sorted(kept["movie_id"].to_list())

    quarantine = pl.from_arrow(store.read_quarantine())
    assert isinstance(quarantine, pl.DataFrame)
    mine = quarantine.filter(pl.col("kind") == "features:movie_basic")
    assert mine.height == broke.height
    assert set(mine["reason"]) == {f"vote_count in [None, {limit}]"}

    document = store.registry.quality_records().list_documents("validation", "movie_basic")[0]
    body = document.body
    assert body["rows"] == want.height and body["invalid_rows"] == broke.height
    assert body["rule_failures"][f"vote_count in [None, {limit}]"] == broke.height
    # The view's own declared rules were checked too, and held.
    assert body["rule_failures"]["vote_average in [0, 10]"] == 0
    assert body["valid_share"] == pytest.approx(kept.height / want.height)


def test_fail_stops_the_run_before_anything_is_stored(tmp_path: Path, world_files: Path) -> None:
    repo = with_rules(tmp_path, world_files, "fail", 0)
    store = FeatureStore(repo)
    with pytest.raises(CinefeatError, match=r"feature validation failed: movie_basic: .* invalid"):
        Pipeline.from_file(repo / "pipeline.yaml", store).run(progress=False)
    assert store.offline_store.current_version(store.get_feature_view("movie_basic")) is None


def test_warn_keeps_every_row(tmp_path: Path, world_files: Path) -> None:
    repo = with_rules(tmp_path, world_files, "warn", 0)
    store, record = run(repo)
    assert record.status == "succeeded"  # type: ignore[attr-defined]
    want = expected(repo)["movie_basic"]
    assert stored(store, "movie_basic").height == want.height
    body = store.registry.quality_records().list_documents("validation", "movie_basic")[0].body
    assert body["on_failure"] == "warn"
    assert body["invalid_rows"] == want.filter(pl.col("vote_count") > 0).height > 0


def test_a_bad_yaml_rule_is_a_config_error(tmp_path: Path, world_files: Path) -> None:
    repo = with_rules(tmp_path, world_files, "quarantine", 5)
    path = repo / "pipeline.yaml"
    path.write_text(path.read_text().replace("rule: in_range", "rule: between"))
    with pytest.raises(
        PipelineConfigError, match=r"stages\[2\].params.rules: .*rule must be one of"
    ):
        Pipeline.from_file(path, FeatureStore(repo))


def test_rules_for_a_view_the_stage_does_not_check_are_a_config_error(
    tmp_path: Path, world_files: Path
) -> None:
    repo = with_rules(tmp_path, world_files, "quarantine", 5)
    path = repo / "pipeline.yaml"
    path.write_text(path.read_text().replace("movie_basic: [", "movie_basc: ["))
    with pytest.raises(PipelineConfigError, match=r"'movie_basc' is not a view this stage checks"):
        Pipeline.from_file(path, FeatureStore(repo))
