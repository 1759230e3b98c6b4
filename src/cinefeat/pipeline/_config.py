"""Feature pipeline files (`feature_pipeline:` YAML), validated with pydantic into a PipelineConfig.

Nodes keep their line numbers, so errors here and in other modules read `file:line: key: problem`.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from cinefeat.errors import ConfigError

__all__ = [
    "ExecutionConfig",
    "InputConfig",
    "PipelineConfig",
    "PipelineConfigError",
    "StageConfig",
    "load_pipeline_config",
    "located_problems",
    "parse_pipeline_config",
]

ROOT_KEY = "feature_pipeline"
Loc = tuple[str | int, ...]

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_LOADER_ALIASES = {
    "movielens_latest": "movielens",
    "movielens_100k": "movielens",
    "movielens_small": "movielens",
}


class PipelineConfigError(ConfigError):
    """A feature pipeline file is missing, not valid YAML, or does not match the schema.

    `problems` holds one `file:line: key: problem` string per problem (a message string is split
    into lines); the message is those lines joined.
    """

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = tuple(problems.splitlines() if isinstance(problems, str) else problems)
        super().__init__("\n".join(self.problems))


def _identifier(value: str) -> str:
    if not _IDENTIFIER.fullmatch(value):
        raise PydanticCustomError(
            "identifier",
            "must be an identifier: letters, digits and underscores, starting with a letter",
        )
    return value


Identifier = Annotated[str, AfterValidator(_identifier)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputConfig(_Strict):
    """One raw data set the pipeline reads; `path` is relative to the pipeline file."""

    loader: Literal["tmdb_json", "tmdb5000", "movielens"]
    path: str = Field(min_length=1)
    snapshot_ts: datetime | None = None

    @field_validator("loader", mode="before")
    @classmethod
    def _normalise_alias(cls, value: Any) -> Any:
        # The movielens loader detects the flavour (latest, 100k, small) from the files.
        return _LOADER_ALIASES.get(value, value) if isinstance(value, str) else value

    @field_validator("snapshot_ts")
    @classmethod
    def _aware_utc(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None:
            return None
        if info.data.get("loader", "tmdb_json") != "tmdb_json":
            raise PydanticCustomError("snapshot_ts", "only applies to loader 'tmdb_json'")
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # naive = UTC
        return aware.astimezone(UTC)


class StageConfig(_Strict):
    """One stage; `type` is resolved to a stage class elsewhere, not here."""

    name: Identifier
    type: str = Field(min_length=1)
    params: dict[str, Any] = {}


class ExecutionConfig(_Strict):
    """How stages run: worker count, rows per chunk, processes or threads."""

    workers: int = Field(default=2, ge=1)
    chunk_rows: int = Field(default=200_000, ge=1_000)
    mode: Literal["processes", "threads"] = "processes"


def _duplicates(names: list[Any]) -> list[tuple[int, int]]:
    """(index, index of the first stage with that name) for every repeated string name."""
    first: dict[str, int] = {}
    repeated = []
    for index, name in enumerate(names):
        if isinstance(name, str):
            if name in first:
                repeated.append((index, first[name]))
            first.setdefault(name, index)
    return repeated


class PipelineConfig(_Strict):
    """The validated `feature_pipeline:` mapping, plus the file it came from and its lines."""

    name: Identifier
    inputs: dict[Identifier, InputConfig] = Field(min_length=1)
    stages: list[StageConfig] = Field(min_length=1)
    execution: ExecutionConfig = ExecutionConfig()
    incremental: bool = True

    _source: Path = PrivateAttr(default=Path("<string>"))
    _lines: dict[Loc, int] = PrivateAttr(default_factory=dict)

    @field_validator("stages")
    @classmethod
    def _unique_stage_names(cls, stages: list[StageConfig]) -> list[StageConfig]:
        repeated = _duplicates([stage.name for stage in stages])
        if repeated:
            raise PydanticCustomError(
                "duplicate_stage_name",
                "stages[{index}]: duplicate stage name (already used by stages[{first}])",
                {"index": repeated[0][0], "first": repeated[0][1]},
            )
        return stages

    @property
    def source(self) -> Path:
        """The pipeline file this config was read from (resolved)."""
        return self._source

    @property
    def config_hash(self) -> str:
        """sha256 of the canonical JSON of the content: formatting, comments, key order ignored."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def content_hash(self) -> str:
        """sha256 of what decides the results (inputs, stages, their params), not of how they
        are computed (`execution`): stored results made under another content hash are stale."""
        content = self.model_dump(mode="json", exclude={"execution"})
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def input_path(self, name: str) -> Path:
        """The input's path; relative paths are relative to the directory of the pipeline file."""
        if name not in self.inputs:
            raise KeyError(f"no input named {name!r}; inputs: {', '.join(self.inputs)}")
        path = Path(self.inputs[name].path).expanduser()
        return path if path.is_absolute() else self._source.parent / path

    def line(self, *loc: str | int) -> int | None:
        """1-based line of the node at `loc` (e.g. "stages", 1, "type"), else of its nearest
        enclosing node; None if nothing has a line (a config not read from a file)."""
        return _nearest(self._lines, loc)

    def location(self, *loc: str | int) -> str:
        """`/abs/pipeline.yaml:12` for the node at `loc`, falling back as `line()` does."""
        line = self.line(*loc)
        return str(self._source) if line is None else f"{self._source}:{line}"


def _nearest(lines: dict[Loc, int], loc: Loc) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _map_lines(
    node: yaml.Node, loc: Loc, lines: dict[Loc, int], dups: list[tuple[Loc, str]]
) -> None:
    """Record the 1-based line of every node below `node`; a mapping value gets its key's line."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = str(key_node.value)
            if key in seen:  # safe_load silently keeps the last one
                dups.append(((*loc, key), f"duplicate key (first at line {seen[key]})"))
            seen[key] = lines[(*loc, key)] = key_node.start_mark.line + 1
            _map_lines(value_node, (*loc, key), lines, dups)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            _map_lines(item, (*loc, index), lines, dups)


def _dotted(loc: Loc) -> str:
    return ROOT_KEY + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


def _describe(error: ErrorDetails) -> tuple[Loc, str]:
    loc: Loc = tuple(error["loc"])
    if loc and loc[-1] == "[key]":  # a bad dict key: point at the key itself
        loc = loc[:-1]
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        return loc, "unknown key"
    if kind == "missing":
        return loc, "missing required key"
    if kind == "too_short" and isinstance(value, dict | list):
        return loc, "must have at least one entry"
    if isinstance(value, dict | list):
        return loc, error["msg"]
    shown = repr(value) if value is None or isinstance(value, str | int | float) else str(value)
    return loc, f"{error['msg']} (got {shown})"


def located_problems(config: PipelineConfig, under: Loc, exc: ValidationError) -> list[str]:
    """`file:line: feature_pipeline.<key>: problem` for each error of validating a part of the
    config found at `under` (e.g. one stage's params) after the config itself was read."""
    problems = []
    for error in exc.errors():
        loc, message = _describe(error)
        where = (*under, *loc)
        problems.append(f"{config.location(*where)}: {_dotted(where)}: {message}")
    return problems


def _yaml_problem(source: Path, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.MarkedYAMLError) and mark is not None:
        return f"{source}:{mark.line + 1}:{mark.column + 1}: not valid YAML: {exc.problem}"
    return f"{source}: not valid YAML: {exc}"


def parse_pipeline_config(text: str, source: Path) -> PipelineConfig:
    """Validate pipeline YAML `text` read from `source`; raise PipelineConfigError listing every
    problem as `file:line: key: problem`."""
    source = Path(source).expanduser().resolve()
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        document = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        raise PipelineConfigError([_yaml_problem(source, exc)]) from None
    finally:
        loader.dispose()

    expected = f"expected a mapping with the single key '{ROOT_KEY}'"
    if root is None or not isinstance(document, dict):
        got = "an empty file" if document is None else type(document).__name__
        raise PipelineConfigError([f"{source}:1: {expected}, got {got}"])
    found: list[tuple[int, str]] = []  # (line, "key: problem")
    pipeline: tuple[int, yaml.Node] | None = None
    for key_node, value_node in root.value:
        key, line = str(key_node.value), key_node.start_mark.line + 1
        if key == ROOT_KEY:
            pipeline = (line, value_node)  # the last one wins, as in safe_load
        else:
            found.append((line, f"{key}: unknown top-level key; {expected}"))
    if pipeline is None:
        found.insert(0, (1, f"{ROOT_KEY}: missing required key"))
        raise PipelineConfigError([f"{source}:{line}: {what}" for line, what in found])

    # Locations below are relative to the `feature_pipeline` value, as pydantic reports them.
    lines: dict[Loc, int] = {(): pipeline[0]}
    located: list[tuple[Loc, str]] = []
    _map_lines(pipeline[1], (), lines, located)
    data, config = document[ROOT_KEY], None
    try:
        config = PipelineConfig.model_validate(data)
    except ValidationError as exc:
        # Duplicate stage names are checked below on the raw data, so they show up (all of
        # them) even when some stage is otherwise invalid.
        located += [_describe(e) for e in exc.errors() if e["type"] != "duplicate_stage_name"]
    stages = data.get("stages") if isinstance(data, dict) else None
    if isinstance(stages, list):
        names = [stage.get("name") if isinstance(stage, dict) else None for stage in stages]
        for index, first in _duplicates(names):
            message = f"duplicate stage name (already used by stages[{first}])"
            located.append((("stages", index, "name"), message))
    for loc, message in located:
        found.append((_nearest(lines, loc) or 1, f"{_dotted(loc)}: {message}"))
    if found or config is None:
        found.sort(key=lambda problem: problem[0])
        raise PipelineConfigError([f"{source}:{line}: {what}" for line, what in found])
    config._source, config._lines = source, lines
    return config


def load_pipeline_config(path: str | Path) -> PipelineConfig:
    """Read and validate a pipeline file; every problem names the file, the line and the key."""
    source = Path(path).expanduser().resolve()
    if not source.is_file():
        what = "is a directory, not a pipeline file" if source.is_dir() else "no such pipeline file"
        raise PipelineConfigError([f"{source}: {what}"])
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineConfigError([f"{source}: cannot read pipeline file: {exc}"]) from None
    return parse_pipeline_config(text, source)
