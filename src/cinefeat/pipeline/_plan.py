"""Planning a run: which partitions to process (new, changed, stale under a changed config, or
those a resumed run started with), which inputs to skip, and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from cinefeat.errors import CinefeatError
from cinefeat.pipeline._config import PipelineConfig, PipelineConfigError
from cinefeat.pipeline._fingerprint import classify, fingerprint_files
from cinefeat.pipeline._partitions import (
    LOADER_KINDS,
    Partition,
    discover_partitions,
    split_large_files,
)
from cinefeat.pipeline._stage import Stage
from cinefeat.registry import InputFingerprint, PipelineRuns, RunRecord

__all__ = ["PipelinePlan", "check_one_input_per_kind", "make_plan"]


@dataclass(frozen=True)
class PipelinePlan:
    """What a run would do: the partitions to process (with why) and the inputs it skips."""

    pipeline: str
    process: tuple[tuple[Partition, str], ...]
    skipped: tuple[tuple[str, str], ...]  # (path, why)
    stages: tuple[Stage, ...]
    resume_of: RunRecord | None = None
    # Fingerprints to record once the run succeeds (processed and refreshed files), and the
    # files to forget (gone since they were processed).
    record: tuple[InputFingerprint, ...] = ()
    forget: tuple[tuple[str, str], ...] = ()

    @property
    def has_work(self) -> bool:
        return bool(self.process)

    def describe(self) -> str:
        lines = [f"pipeline {self.pipeline}: {len(self.process)} partition(s) to process"]
        if self.resume_of is not None:
            lines[0] += f" (resuming run {self.resume_of.run_id})"
        lines.append(
            "stages: " + " -> ".join(f"{s.name} ({type(s).__name__})" for s in self.stages)
        )
        lines += [f"  process {p.key}: {why} ({len(p.files)} file(s))" for p, why in self.process]
        lines += [f"  skip {path}: {why}" for path, why in self.skipped]
        if not self.process:
            lines.append("nothing to do: every input was processed before and is unchanged")
        return "\n".join(lines)


def check_one_input_per_kind(config: PipelineConfig) -> None:
    """Stored rows are replaced by snapshot (movies) or by row (ratings), not by input: two
    inputs of one kind would replace each other's rows."""
    seen: dict[str, str] = {}
    problems = []
    for name, spec in config.inputs.items():
        kind = LOADER_KINDS[spec.loader]
        if kind in seen:
            problems.append(
                f"{config.location('inputs', name)}: feature_pipeline.inputs.{name}: a second "
                f"{kind} input (after {seen[kind]!r}); use one input per kind, pointed at a "
                "folder that holds both (subfolders are read)"
            )
        seen.setdefault(kind, name)
    if problems:
        raise PipelineConfigError(problems)


def _with_old_snapshots(
    partition: Partition, processed: dict[tuple[str, str], InputFingerprint]
) -> Partition:
    """A partition whose snapshot time is its files' mtime also replaces the snapshots its
    files had when they were processed last (their recorded mtimes)."""
    if partition.snapshot_from != "file mtime":
        return partition
    old = {
        datetime.fromtimestamp(fp.mtime_ns / 1e9, UTC)
        for f in partition.files
        if (fp := processed.get((partition.input, str(f)))) is not None
    }
    return replace(partition, replaces=tuple(sorted(old - {partition.snapshot_ts})))


def make_plan(
    config: PipelineConfig, runs: PipelineRuns, stages: Sequence[Stage], resume: bool
) -> PipelinePlan:
    """What a run would process and skip, and why. No data is parsed: files are fingerprinted,
    and big JSON Lines files to process are split into chunks (their first MiB is sampled)."""
    inputs = {
        name: (spec.loader, config.input_path(name), spec.snapshot_ts)
        for name, spec in config.inputs.items()
    }
    missing = [
        f"{config.location('inputs', name, 'path')}: "
        f"feature_pipeline.inputs.{name}.path: {path} does not exist"
        for name, (_, path, _) in inputs.items()
        if not path.exists()
    ]
    if missing:
        raise PipelineConfigError(missing)
    partitions = discover_partitions(inputs)
    processed = runs.processed_inputs(config.name)
    current = fingerprint_files([(p.input, str(f)) for p in partitions for f in p.files], processed)
    last = runs.latest_clean(config.name)
    stale = last is not None and last.options.get("content_hash") != config.content_hash
    # Results made under other inputs, stages or params are stale: everything is new again.
    baseline = {} if stale or not config.incremental else processed
    changes = classify(current, baseline)
    new_reason = "config changed" if stale else "new"
    why = {fp.key: new_reason for fp in changes.new}
    why |= {fp.key: "changed" for fp in changes.changed}
    # A file whose snapshot time is its mtime moves to another snapshot when merely touched.
    mtime_stamped = {
        (p.input, str(f)) for p in partitions if p.snapshot_from == "file mtime" for f in p.files
    }
    why |= {
        fp.key: "changed (its mtime is its snapshot time)"
        for fp in changes.touched
        if fp.key in mtime_stamped
    }
    previous = runs.latest_unfinished(config.name) if resume else None
    to_record = [fp for fp in changes.to_record if fp.key in why]
    if previous is not None:
        _check_resumable(config, previous, current)
        why = {fp.key: "resumed" for fp in previous.inputs}
        to_record = list(previous.inputs)
    waiting = {fp.key for fp in changes.to_process} if previous is not None else set()
    # A resumed run splits big files as it did when it started (its checkpoints name chunks);
    # a run recorded without chunk_rows (before chunking existed) split none.
    chunk_rows: int | None = (
        previous.options.get("chunk_rows") if previous is not None else config.execution.chunk_rows
    )
    process, skipped = [], []
    for partition in partitions:
        keys = [(partition.input, str(f)) for f in partition.files]
        reasons = sorted({why[k] for k in keys if k in why})
        if reasons:
            whole = _with_old_snapshots(partition, processed)
            root = config.input_path(partition.input)
            chunks = split_large_files(whole, chunk_rows, root) if chunk_rows else [whole]
            process += [(chunk, "/".join(reasons)) for chunk in chunks]
        else:
            note = "new or changed: for the next run" if waiting & set(keys) else "unchanged"
            skipped += [(str(f), note) for f in partition.files]
    skipped += [(fp.path, "removed (its rows stay in the store)") for fp in changes.removed]
    refresh = [fp for fp in changes.touched if fp.key not in why] if previous is None else []
    return PipelinePlan(
        config.name,
        tuple(process),
        tuple(skipped),
        tuple(stages),
        previous,
        tuple(to_record) + tuple(refresh),
        () if previous is not None else changes.removed_keys,
    )


def _check_resumable(
    config: PipelineConfig,
    previous: RunRecord,
    current: dict[tuple[str, str], InputFingerprint],
) -> None:
    if previous.options.get("content_hash") != config.content_hash:
        raise CinefeatError(
            f"cannot resume run {previous.run_id}: it was started with another version of "
            "the pipeline's inputs, stages or params; run without --resume to start over"
        )
    for fp in previous.inputs:
        now = current.get(fp.key)
        if now is None or now.sha256 != fp.sha256:
            raise CinefeatError(
                f"cannot resume run {previous.run_id}: {fp.path} "
                f"{'is gone' if now is None else 'changed'} since it started; run without "
                "--resume to process the inputs as they are now"
            )


# -- running --------------------------------------------------------------------------
