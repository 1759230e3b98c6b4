"""Feature pipeline YAML is validated; every problem names the file, the line and the key."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cinefeat.errors import ConfigError
from cinefeat.pipeline._config import (
    ExecutionConfig,
    PipelineConfig,
    PipelineConfigError,
    load_pipeline_config,
    parse_pipeline_config,
)

EXAMPLE = """\
feature_pipeline:
  name: tmdb_daily
  inputs:
    movies:  {loader: tmdb_json, path: data/raw/tmdb/}
    ratings: {loader: movielens_latest, path: data/raw/ratings/}
  stages:
    - name: data_validation
      type: DataValidationStage
    - name: feature_extraction
      type: FeatureExtractionStage
      params: {groups: [movie_basic, movie_temporal, movie_statistical, movie_text, user_activity]}
    - name: feature_validation
      type: FeatureValidationStage
      params: {on_failure: quarantine}   # or fail, warn
    - name: store
      type: FeatureStoreWriteStage
      params: {materialize: true}
  execution: {workers: 2, chunk_rows: 200000}
  incremental: true
"""

MINIMAL = """\
feature_pipeline:
  name: small
  inputs:
    movies: {loader: tmdb5000, path: movies.csv}
  stages:
    - {name: only, type: DataValidationStage}
"""


def write(tmp_path: Path, text: str, name: str = "pipeline.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path.resolve()


def problems(tmp_path: Path, text: str) -> tuple[Path, list[str]]:
    path = write(tmp_path, text)
    with pytest.raises(PipelineConfigError) as info:
        load_pipeline_config(path)
    assert str(info.value) == "\n".join(info.value.problems)
    return path, list(info.value.problems)


def test_the_example_parses(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE)
    config = load_pipeline_config(path)
    assert config.source == path
    assert config.name == "tmdb_daily"
    assert config.inputs["movies"].loader == "tmdb_json"
    assert config.inputs["movies"].path == "data/raw/tmdb/"
    assert [stage.name for stage in config.stages] == [
        "data_validation",
        "feature_extraction",
        "feature_validation",
        "store",
    ]
    assert config.stages[0].params == {}
    assert config.stages[1].params["groups"][-1] == "user_activity"
    assert config.stages[2].params == {"on_failure": "quarantine"}
    assert config.stages[3].type == "FeatureStoreWriteStage"
    assert config.execution == ExecutionConfig(workers=2, chunk_rows=200_000, mode="processes")
    assert config.incremental is True


def test_defaults(tmp_path: Path) -> None:
    config = load_pipeline_config(write(tmp_path, MINIMAL))
    assert config.execution == ExecutionConfig()
    assert (config.execution.workers, config.execution.chunk_rows) == (2, 200_000)
    assert config.execution.mode == "processes"
    assert config.incremental is True
    assert config.inputs["movies"].snapshot_ts is None
    assert config.stages[0].params == {}


@pytest.mark.parametrize(
    "alias", ["movielens", "movielens_latest", "movielens_100k", "movielens_small"]
)
def test_movielens_aliases_are_normalised(tmp_path: Path, alias: str) -> None:
    text = MINIMAL.replace("{loader: tmdb5000, path: movies.csv}", f"{{loader: {alias}, path: ml}}")
    assert load_pipeline_config(write(tmp_path, text)).inputs["movies"].loader == "movielens"


def test_input_path_is_relative_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    text = EXAMPLE.replace("path: data/raw/ratings/", f"path: {tmp_path / 'abs'}")
    text = text.replace("  inputs:\n", "  inputs:\n    home: {loader: tmdb5000, path: ~/m.csv}\n")
    path = write(tmp_path / "conf", text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_pipeline_config("conf/pipeline.yaml")
    assert config.source == path
    assert config.input_path("movies") == path.parent / "data" / "raw" / "tmdb"
    assert config.input_path("ratings") == tmp_path / "abs"
    assert config.input_path("home") == tmp_path / "home" / "m.csv"
    with pytest.raises(KeyError, match="no input named 'users'; inputs: home, movies, ratings"):
        config.input_path("users")


def test_snapshot_ts_naive_means_utc(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "{loader: tmdb5000, path: movies.csv}",
        "{loader: tmdb_json, path: t, snapshot_ts: 2024-03-01 12:00:00}",
    )
    text += "  # comment\n"
    config = load_pipeline_config(write(tmp_path, text))
    assert config.inputs["movies"].snapshot_ts == datetime(2024, 3, 1, 12, tzinfo=UTC)
    aware = text.replace("2024-03-01 12:00:00", '"2024-03-01T14:00:00+02:00"')
    same = load_pipeline_config(write(tmp_path, aware, "aware.yaml"))
    assert same.inputs["movies"].snapshot_ts == datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert same.config_hash == config.config_hash


def test_snapshot_ts_only_applies_to_tmdb_json(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "path: movies.csv}", "path: m.csv,\n             snapshot_ts: 2024-01-01}"
    )
    path, found = problems(tmp_path, text)
    assert found == [
        f"{path}:5: feature_pipeline.inputs.movies.snapshot_ts: only applies to loader "
        "'tmdb_json' (got 2024-01-01)"
    ]


def test_config_hash_ignores_formatting_and_key_order(tmp_path: Path) -> None:
    reformatted = """\
# the same pipeline, written differently
feature_pipeline:
  incremental: true
  execution:
    chunk_rows: 200000
    workers: 2
  stages:
  - {type: DataValidationStage, name: data_validation}
  - type: FeatureExtractionStage
    name: feature_extraction
    params:
      groups:
        - movie_basic
        - movie_temporal
        - movie_statistical
        - movie_text
        - user_activity
  - {name: feature_validation, type: FeatureValidationStage, params: {on_failure: quarantine}}
  - name: store
    type: FeatureStoreWriteStage
    params:
      materialize: true   # write the online store too
  inputs:
    ratings: {path: data/raw/ratings/, loader: movielens_latest}
    movies:
      path: data/raw/tmdb/
      loader: tmdb_json
  name: tmdb_daily
"""
    original = load_pipeline_config(write(tmp_path, EXAMPLE))
    assert len(original.config_hash) == 64
    assert load_pipeline_config(write(tmp_path, reformatted, "b.yaml")).config_hash == (
        original.config_hash
    )
    changed = EXAMPLE.replace("on_failure: quarantine", "on_failure: warn")
    assert load_pipeline_config(write(tmp_path, changed, "c.yaml")).config_hash != (
        original.config_hash
    )


def test_location_of_nested_and_missing_nodes(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE)
    config = load_pipeline_config(path)
    assert config.location("stages", 1, "type") == f"{path}:10"
    assert config.location("stages", 1, "params", "groups", 2) == f"{path}:11"
    assert config.location("inputs", "ratings", "loader") == f"{path}:5"
    assert config.location("stages", 2) == f"{path}:12"
    assert config.location("stages", 0, "params") == f"{path}:7"  # absent: the stage's line
    assert config.location("stages", 9, "type") == f"{path}:6"  # absent: the `stages:` key
    assert config.location() == f"{path}:1"
    assert config.line("execution", "chunk_rows") == 18
    assert config.line("nothing") == 1


def test_location_without_a_file_is_just_the_source() -> None:
    config = PipelineConfig.model_validate(
        {
            "name": "p",
            "inputs": {"m": {"loader": "tmdb5000", "path": "x"}},
            "stages": [{"name": "s", "type": "T"}],
        }
    )
    assert config.line("stages", 0) is None
    assert config.location("stages", 0) == "<string>"


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path, found = problems(tmp_path, EXAMPLE + "schedule: daily\n")
    assert found == [
        f"{path}:20: schedule: unknown top-level key; "
        "expected a mapping with the single key 'feature_pipeline'"
    ]


def test_unknown_key_inside_the_pipeline(tmp_path: Path) -> None:
    path, found = problems(tmp_path, EXAMPLE.replace("  incremental: true", "  incremntal: true"))
    assert found == [f"{path}:19: feature_pipeline.incremntal: unknown key"]


def test_unknown_key_inside_a_stage_points_at_that_key(tmp_path: Path) -> None:
    text = EXAMPLE.replace(
        "      type: FeatureValidationStage\n", "      typ: FeatureValidationStage\n"
    )
    path, found = problems(tmp_path, text.replace("params: {on_failure", "parms: {on_failure"))
    assert found == [
        f"{path}:12: feature_pipeline.stages[2].type: missing required key",
        f"{path}:13: feature_pipeline.stages[2].typ: unknown key",
        f"{path}:14: feature_pipeline.stages[2].parms: unknown key",
    ]


def test_wrong_type_shows_the_value(tmp_path: Path) -> None:
    text = EXAMPLE.replace("execution: {workers: 2,", 'execution: {workers: "two",')
    path, found = problems(tmp_path, text)
    assert found == [
        f"{path}:18: feature_pipeline.execution.workers: Input should be a valid integer, "
        "unable to parse string as an integer (got 'two')"
    ]


def test_chunk_rows_below_minimum(tmp_path: Path) -> None:
    path, found = problems(tmp_path, EXAMPLE.replace("chunk_rows: 200000", "chunk_rows: 10"))
    assert found == [
        f"{path}:18: feature_pipeline.execution.chunk_rows: "
        "Input should be greater than or equal to 1000 (got 10)"
    ]


def test_missing_inputs(tmp_path: Path) -> None:
    text = EXAMPLE.replace(
        "  inputs:\n    movies:  {loader: tmdb_json, path: data/raw/tmdb/}\n"
        "    ratings: {loader: movielens_latest, path: data/raw/ratings/}\n",
        "",
    )
    path, found = problems(tmp_path, text)
    assert found == [f"{path}:1: feature_pipeline.inputs: missing required key"]


def test_empty_stages_and_inputs(tmp_path: Path) -> None:
    text = "feature_pipeline:\n  name: p\n  inputs: {}\n  stages: []\n"
    path, found = problems(tmp_path, text)
    assert found == [
        f"{path}:3: feature_pipeline.inputs: must have at least one entry",
        f"{path}:4: feature_pipeline.stages: must have at least one entry",
    ]


def test_duplicate_stage_names_point_at_the_second(tmp_path: Path) -> None:
    path, found = problems(tmp_path, EXAMPLE.replace("name: store", "name: feature_extraction"))
    assert found == [
        f"{path}:15: feature_pipeline.stages[3].name: "
        "duplicate stage name (already used by stages[1])"
    ]


def test_duplicate_stage_names_reported_next_to_other_stage_errors(tmp_path: Path) -> None:
    text = EXAMPLE.replace("name: store", "name: data_validation")
    path, found = problems(tmp_path, text.replace("{materialize: true}", "[materialize]"))
    assert found == [
        f"{path}:15: feature_pipeline.stages[3].name: "
        "duplicate stage name (already used by stages[0])",
        f"{path}:17: feature_pipeline.stages[3].params: Input should be a valid dictionary",
    ]


def test_duplicate_stage_names_when_validating_a_mapping_directly() -> None:
    stages = [{"name": "s", "type": "T"}, {"name": "s", "type": "U"}]
    data = {"name": "p", "inputs": {"m": {"loader": "tmdb5000", "path": "x"}}, "stages": stages}
    with pytest.raises(ValueError, match=r"stages\[1\]: duplicate stage name"):
        PipelineConfig.model_validate(data)


def test_bad_identifiers(tmp_path: Path) -> None:
    text = EXAMPLE.replace("name: data_validation", "name: 1st").replace("movies: ", "my-movies:")
    path, found = problems(tmp_path, text)
    rule = "must be an identifier: letters, digits and underscores, starting with a letter"
    assert found == [
        f"{path}:4: feature_pipeline.inputs.my-movies: {rule} (got 'my-movies')",
        f"{path}:7: feature_pipeline.stages[0].name: {rule} (got '1st')",
    ]


def test_bad_loader_name(tmp_path: Path) -> None:
    path, found = problems(tmp_path, EXAMPLE.replace("loader: movielens_latest", "loader: imdb"))
    assert found == [
        f"{path}:5: feature_pipeline.inputs.ratings.loader: "
        "Input should be 'tmdb_json', 'tmdb5000' or 'movielens' (got 'imdb')"
    ]


def test_every_problem_is_reported_in_line_order(tmp_path: Path) -> None:
    text = (
        EXAMPLE.replace("name: tmdb_daily", "name: tmdb daily")
        .replace("path: data/raw/tmdb/", 'path: ""')
        .replace("      type: DataValidationStage\n", "")
        .replace("workers: 2", "workers: 0")
        .replace("incremental: true", "incremental: sometimes")
    )
    path, found = problems(tmp_path, text + "extra: 1\n")
    assert found == [
        f"{path}:2: feature_pipeline.name: must be an identifier: letters, digits and "
        "underscores, starting with a letter (got 'tmdb daily')",
        f"{path}:4: feature_pipeline.inputs.movies.path: "
        "String should have at least 1 character (got '')",
        f"{path}:7: feature_pipeline.stages[0].type: missing required key",
        f"{path}:17: feature_pipeline.execution.workers: "
        "Input should be greater than or equal to 1 (got 0)",
        f"{path}:18: feature_pipeline.incremental: "
        "Input should be a valid boolean, unable to interpret input (got 'sometimes')",
        f"{path}:19: extra: unknown top-level key; "
        "expected a mapping with the single key 'feature_pipeline'",
    ]


def test_duplicate_yaml_keys_are_an_error(tmp_path: Path) -> None:
    path, found = problems(tmp_path, EXAMPLE.replace("workers: 2,", "workers: 2, workers: 4,"))
    assert found == [
        f"{path}:18: feature_pipeline.execution.workers: duplicate key (first at line 18)"
    ]


def test_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    text = EXAMPLE.replace("type: DataValidationStage", "type: Data: ValidationStage")
    path, found = problems(tmp_path, text)
    assert found == [f"{path}:8:17: not valid YAML: mapping values are not allowed here"]
    _, found = problems(tmp_path, EXAMPLE.replace("type: DataValidationStage", "type: [Data"))
    assert found == [f"{path}:9:11: not valid YAML: expected ',' or ']', but got ':'"]


@pytest.mark.parametrize(
    ("text", "got"),
    [("- name: p\n", "list"), ("just text\n", "str"), ("# nothing\n", "an empty file")],
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, got: str) -> None:
    path, found = problems(tmp_path, text)
    assert found == [
        f"{path}:1: expected a mapping with the single key 'feature_pipeline', got {got}"
    ]


def test_top_level_without_feature_pipeline(tmp_path: Path) -> None:
    path, found = problems(tmp_path, "name: p\nstages: []\n")
    assert found == [
        f"{path}:1: feature_pipeline: missing required key",
        f"{path}:1: name: unknown top-level key; "
        "expected a mapping with the single key 'feature_pipeline'",
        f"{path}:2: stages: unknown top-level key; "
        "expected a mapping with the single key 'feature_pipeline'",
    ]


def test_feature_pipeline_must_hold_a_mapping(tmp_path: Path) -> None:
    path, found = problems(tmp_path, "\nfeature_pipeline:\n")
    assert found == [
        f"{path}:2: feature_pipeline: Input should be a valid dictionary or instance of "
        "PipelineConfig (got None)"
    ]


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path.resolve() / "nope.yaml"
    with pytest.raises(PipelineConfigError) as info:
        load_pipeline_config(missing)
    assert str(info.value) == f"{missing}: no such pipeline file"
    assert isinstance(info.value, ConfigError)
    with pytest.raises(PipelineConfigError, match="is a directory, not a pipeline file"):
        load_pipeline_config(tmp_path)


def test_parse_resolves_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = parse_pipeline_config(MINIMAL, Path("sub/p.yaml"))
    assert config.source == tmp_path.resolve() / "sub" / "p.yaml"
    assert config.input_path("movies") == tmp_path.resolve() / "sub" / "movies.csv"
    assert config.location("stages", 0, "type") == f"{config.source}:6"


def test_configs_are_frozen(tmp_path: Path) -> None:
    config = load_pipeline_config(write(tmp_path, MINIMAL))
    with pytest.raises(ValueError, match="frozen"):
        config.stages[0].name = "other"  # type: ignore[misc]


def test_the_error_accepts_a_message_or_a_list_of_problems() -> None:
    assert PipelineConfigError("a:1: x: bad\na:2: y: bad").problems == (
        "a:1: x: bad",
        "a:2: y: bad",
    )
    assert str(PipelineConfigError(["a:1: x: bad", "a:2: y: bad"])) == "a:1: x: bad\na:2: y: bad"
