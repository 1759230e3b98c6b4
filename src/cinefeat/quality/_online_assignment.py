"""Deterministic arm assignment: an entity's canonical key and a salted sha256 of it decide
its arm, the same in every process and after every restart."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral
from typing import Any
from urllib.parse import quote

import numpy as np
import numpy.typing as npt

from cinefeat.quality._online_spec import Arm, ExperimentError, OnlineExperiment

__all__ = ["assign_arm", "assign_arms", "entity_key", "entity_keys"]


def _key_text(value: Any, where: str) -> str:
    # Only integers and text: 1, 1.0 and true are one entity in JSON but would be three here.
    if type(value) is int:
        return str(value)  # digits and "-" need no escaping
    if type(value) is str:
        return quote(value, safe="")
    if isinstance(value, Integral) and not isinstance(value, bool):  # NumPy integers
        return str(int(value))
    raise ExperimentError(f"{where}: a unit key must be an integer or text, got {value!r}")


def entity_key(entity: Mapping[str, Any], unit_keys: Sequence[str]) -> str:
    """The canonical text of an entity: its unit keys sorted by name, each as `name=value`
    joined by `&`, values as decimal integers or text, every byte outside `A-Za-z0-9_.-~`
    percent-encoded (UTF-8), e.g. `movie_id=550&user_id=1`. Other keys are ignored."""
    missing = [key for key in unit_keys if key not in entity]
    if missing:
        raise ExperimentError(f"entity: missing the unit key(s) {missing} (has {list(entity)})")
    return "&".join(
        f"{quote(key, safe='')}={_key_text(entity[key], f'entity.{key}')}"
        for key in sorted(unit_keys)
    )


def entity_keys(
    columns: Mapping[str, Sequence[Any]],
    unit_keys: Sequence[str],
    where: str = "entities.{key}[{row}]",
) -> list[str]:
    """`entity_key` of every row of column-major entities (`{"user_id": [1, 2]}`); `where`
    names a bad value in errors."""
    missing = [key for key in unit_keys if key not in columns]
    if missing:
        raise ExperimentError(
            f"entities: missing the experiment's unit key(s) {missing} (has {list(columns)})"
        )
    parts: list[list[str]] = []
    for key in sorted(unit_keys):
        prefix = f"{quote(key, safe='')}="  # once per column, not per row
        parts.append(
            [
                prefix + _key_text(value, where.format(key=key, row=i))
                for i, value in enumerate(columns[key])
            ]
        )
    if len(parts) == 1:
        return parts[0]
    return ["&".join(row) for row in zip(*parts, strict=True)]


def _threshold(share: float) -> int:
    # Exact: h / 2^64 < share  <=>  h < ceil(share * 2^64) for an integer h.
    return math.ceil(share * 2.0**64)


def _hash_prefix(salt: str, key: str) -> bytes:
    return hashlib.sha256(f"{salt}:{key}".encode()).digest()[:8]


def assign_arm(experiment: OnlineExperiment, entity_key: str) -> Arm:
    """The entity's arm: h = the first 8 bytes of sha256(f"{salt}:{entity_key}") as a
    big-endian unsigned integer; treatment if h / 2^64 < treatment_share, else control. The
    same everywhere, every time: no state, no process or hash seed involved."""
    h = int.from_bytes(_hash_prefix(experiment.salt, entity_key), "big")
    return "treatment" if h < _threshold(experiment.treatment_share) else "control"


def assign_arms(experiment: OnlineExperiment, keys: Iterable[str]) -> npt.NDArray[np.bool_]:
    """`assign_arm` for many entity keys at once: True where the arm is treatment."""
    salt = experiment.salt
    prefixes = b"".join([_hash_prefix(salt, key) for key in keys])
    hashes = np.frombuffer(prefixes, dtype=">u8")
    return hashes < np.uint64(_threshold(experiment.treatment_share))
