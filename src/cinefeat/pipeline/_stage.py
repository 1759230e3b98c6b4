"""What a pipeline stage is: a class with declared reads and writes, validated params, optional
per-partition work (run in worker processes) and a whole-run step (run in the parent).

Stages hand data to each other as named datasets, one Parquet file per partition (or `_all`)
in the run's work directory, each written atomically; that is what makes a run resumable.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, unquote

import polars as pl
from deltalake import DeltaTable
from pydantic import BaseModel, ConfigDict

from cinefeat.offline import StagedFiles
from cinefeat.offline._append import committed_names, discard_uncommitted
from cinefeat.pipeline._partitions import Partition

if TYPE_CHECKING:
    from cinefeat.pipeline._config import PipelineConfig
    from cinefeat.registry import OutputRecord
    from cinefeat.store import FeatureStore

__all__ = [
    "ALL_PARTS",
    "STATE_PREFIX",
    "Datasets",
    "NoParams",
    "PartitionOutput",
    "Stage",
    "StageContext",
    "StageReport",
    "discard_staged",
    "kill_point",
    "put_staged",
    "staged_dataset",
    "staged_files",
]

ALL_PARTS = "_all"  # the part name of a dataset a whole-run step writes
STATE_PREFIX = "state:"  # datasets kept across runs once the run succeeds
_STAGED_PREFIX = "staged:"  # datasets recording data files workers wrote ahead of a commit
_KILL_ENV = "CINEFEAT_PIPELINE_KILL_AT"  # a test hook: "stage:N" (partitions done), "stage:run"


def kill_point(label: str) -> None:
    """Die here, as a crash would (SIGKILL: no cleanup), when the test hook names this point."""
    if os.environ.get(_KILL_ENV) == label:
        os.kill(os.getpid(), signal.SIGKILL)


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class PartitionOutput:
    """What a stage made of one partition: datasets (name -> frame) and its row counts."""

    frames: dict[str, pl.DataFrame] = field(default_factory=dict)
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)  # dataset -> JSON-able meta
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    messages: list[str] = field(default_factory=list)


@dataclass
class StageReport:
    """What a stage's whole-run step did (added to its partitions' counts in the run record)."""

    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    outputs: list[OutputRecord] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def _file_name(name: str) -> str:
    """A dataset or partition name as one file name, injectively (percent-encoding)."""
    return quote(name, safe="@-_.+")


class Datasets:
    """The run's datasets under `root`: `<dataset>/<part>.parquet`, plus `<part>.json` meta."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, dataset: str, part: str, suffix: str) -> Path:
        return self.root / _file_name(dataset) / f"{_file_name(part)}{suffix}"

    def put(
        self,
        dataset: str,
        frame: pl.DataFrame,
        part: str = ALL_PARTS,
        meta: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write one part atomically (temp file + rename; the meta first, so a part whose
        Parquet file exists always has its meta)."""
        path = self._path(dataset, part, ".parquet")
        path.parent.mkdir(parents=True, exist_ok=True)
        meta_path = self._path(dataset, part, ".json")
        temp = meta_path.with_suffix(f".json.tmp{os.getpid()}")
        temp.write_text(json.dumps(dict(meta or {}), default=str), encoding="utf-8")
        os.replace(temp, meta_path)
        temp = path.with_suffix(f".parquet.tmp{os.getpid()}")
        frame.write_parquet(temp)
        os.replace(temp, path)
        return path

    def get(self, dataset: str, part: str = ALL_PARTS) -> pl.DataFrame | None:
        path = self._path(dataset, part, ".parquet")
        return pl.read_parquet(path) if path.is_file() else None

    def meta(self, dataset: str, part: str = ALL_PARTS) -> dict[str, Any]:
        path = self._path(dataset, part, ".json")
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def drop(self, dataset: str, part: str) -> None:
        """Remove one part (its Parquet file first: a part without it does not exist)."""
        for suffix in (".parquet", ".json"):
            self._path(dataset, part, suffix).unlink(missing_ok=True)

    def parts(self, dataset: str) -> list[str]:
        folder = self.root / _file_name(dataset)
        return sorted(unquote(p.stem) for p in folder.glob("*.parquet")) if folder.is_dir() else []

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(unquote(p.name) for p in self.root.iterdir() if p.is_dir())

    def promote_state(self, state_dir: Path) -> None:
        """Move every part of the `state:<name>` datasets to `state_dir/<name>/` (each by an
        atomic rename): what stages remember across runs changes only once a run succeeded."""
        for dataset in self.names():
            if not dataset.startswith(STATE_PREFIX):
                continue
            target = state_dir / _file_name(dataset.removeprefix(STATE_PREFIX))
            target.mkdir(parents=True, exist_ok=True)
            for file in (self.root / _file_name(dataset)).glob("*.parquet"):
                os.replace(file, target / file.name)

    def scan(self, dataset: str) -> pl.LazyFrame | None:
        """Every part of a dataset, as one frame (None when it has no parts)."""
        folder = self.root / _file_name(dataset)
        files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
        return pl.scan_parquet(files) if files else None


def staged_dataset(view: str) -> str:
    """The dataset whose parts record a view's data files written ahead by workers."""
    return _STAGED_PREFIX + view


def put_staged(output: PartitionOutput, view: str, staged: StagedFiles) -> None:
    """Hand on data files a worker wrote ahead for `view` (a one-row part; the files are in
    its meta), for the parent to commit with `staged_files`."""
    output.frames[staged_dataset(view)] = pl.DataFrame({"rows": [staged.rows]})
    output.meta[staged_dataset(view)] = staged.to_json()


def staged_files(datasets: Datasets, view: str, parts: list[str]) -> list[StagedFiles]:
    """The files workers wrote ahead for `view` from those of `parts` that have some."""
    dataset = staged_dataset(view)
    have = set(datasets.parts(dataset))
    return [StagedFiles.from_json(datasets.meta(dataset, p)) for p in parts if p in have]


def discard_staged(
    datasets: Datasets, offline_root: Path, parts: Collection[str] | None = None
) -> None:
    """Delete the files workers staged in `datasets` for `parts` (every part when None), and
    their markers, except files a table version holds: what a killed or abandoned attempt
    staged and never committed."""
    held: dict[str, set[str]] = {}
    for dataset in datasets.names():
        if not dataset.startswith(_STAGED_PREFIX):
            continue
        for part in datasets.parts(dataset):
            if parts is not None and part not in parts:
                continue
            staged = StagedFiles.from_json(datasets.meta(dataset, part))
            if staged.table not in held:
                table = offline_root / staged.table
                opened = DeltaTable(str(table)) if (table / "_delta_log").is_dir() else None
                held[staged.table] = committed_names(opened)
            datasets.drop(dataset, part)  # the marker first: no marker names a missing file
            discard_uncommitted([str(p) for p in staged.paths(offline_root)], held[staged.table])


@dataclass
class StageContext:
    """What a stage's whole-run step sees: the store, the config, this run's partitions (those
    processed and those skipped as unchanged) and the datasets earlier stages wrote."""

    store: FeatureStore
    config: PipelineConfig
    run_id: str
    partitions: list[Partition]
    datasets: Datasets
    state_dir: Path  # survives runs: what a stage must remember (e.g. a partition's last rows)
    progress: Any = None  # a rich Progress, or None

    def remember(self, name: str, part: str, frame: pl.DataFrame) -> None:
        """Keep `frame` for later runs (as `recalled(name, part)`), once this run succeeds."""
        self.datasets.put(STATE_PREFIX + name, frame, part)

    def recalled(self, name: str, part: str) -> pl.DataFrame | None:
        """What a succeeded earlier run remembered under (name, part)."""
        return Datasets(self.state_dir).get(name, part)


class Stage:
    """Base class of pipeline stages. Subclasses set `reads`, `writes` and `Params` (a pydantic
    model of the YAML `params`), and implement `process_partition` (runs in a worker process,
    per partition; the stage object is pickled there, so keep it light), `run` (runs once in
    the parent after every partition is done), or both; `prepare` runs in the parent first."""

    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()
    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, name: str, params: BaseModel | None = None) -> None:
        self.name = name
        self.params = params if params is not None else self.Params()

    @property
    def partitioned(self) -> bool:
        return type(self).process_partition is not Stage.process_partition

    def prepare(self, context: StageContext) -> None:
        """Runs in the parent before this stage's partitions (again when a run resumes): e.g.
        to resolve what workers need from the store, kept on `self` and so pickled to them."""

    def process_partition(
        self, partition: Partition, inputs: Mapping[str, pl.DataFrame | None]
    ) -> PartitionOutput:
        """One partition's work; `inputs` holds this partition's part of each dataset in
        `reads` (None when an earlier stage wrote none)."""
        raise NotImplementedError

    def run(self, context: StageContext) -> StageReport:
        """The whole-run step, after every partition's work; by default nothing."""
        return StageReport()
