"""The online experiment's definition: an `OnlineExperiment` spec (stored in the registry as
an "experiment" document) and the errors of online experiments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from cinefeat.errors import CinefeatError
from cinefeat.quality._online_stats import Metric
from cinefeat.timeutil import as_utc

__all__ = [
    "Arm",
    "ExperimentError",
    "ExperimentNotFoundError",
    "ExperimentStoppedError",
    "OnlineExperiment",
]

Arm = Literal["control", "treatment"]


class ExperimentError(CinefeatError, ValueError):
    """An experiment's settings or outcomes are invalid; the message names the field."""


class ExperimentNotFoundError(CinefeatError, KeyError):
    """No online experiment has this id."""

    def __str__(self) -> str:  # KeyError would otherwise wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class ExperimentStoppedError(CinefeatError):
    """The experiment is stopped: it takes no more outcomes."""


@dataclass(frozen=True)
class OnlineExperiment:
    """An online A/B test between two feature services.

    Entities are assigned by a hash of `salt` and their `unit_keys` (see `assign_arm`);
    `treatment_share` of them get `treatment_service`. The outcome is a `metric` ("mean": a
    continuous value such as a rating, `baseline` its standard deviation; "proportion": 0/1
    such as a click, `baseline` its rate). `required_control`/`required_treatment` are the
    fixed horizon from the power calculation (`required_sample_sizes`).
    """

    id: str
    name: str
    control_service: str
    treatment_service: str
    salt: str
    metric: Metric
    minimum_detectable_effect: float
    baseline: float
    alpha: float
    power: float
    treatment_share: float
    unit_keys: tuple[str, ...]
    required_control: int
    required_treatment: int
    created_at: datetime
    higher_is_better: bool = True
    status: Literal["running", "stopped"] = "running"
    stopped_at: datetime | None = None

    @property
    def required_per_arm(self) -> dict[str, int]:
        return {"control": self.required_control, "treatment": self.required_treatment}

    def service(self, arm: Arm) -> str:
        return self.control_service if arm == "control" else self.treatment_service

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body.update(
            mode="online",
            unit_keys=list(self.unit_keys),
            created_at=self.created_at.isoformat(),
            stopped_at=None if self.stopped_at is None else self.stopped_at.isoformat(),
            required_per_arm=self.required_per_arm,
        )
        return body

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> OnlineExperiment:
        stopped = body.get("stopped_at")
        return cls(
            id=body["id"],
            name=body["name"],
            control_service=body["control_service"],
            treatment_service=body["treatment_service"],
            salt=body["salt"],
            metric=body["metric"],
            minimum_detectable_effect=float(body["minimum_detectable_effect"]),
            baseline=float(body["baseline"]),
            alpha=float(body["alpha"]),
            power=float(body["power"]),
            treatment_share=float(body["treatment_share"]),
            unit_keys=tuple(body["unit_keys"]),
            required_control=int(body["required_control"]),
            required_treatment=int(body["required_treatment"]),
            created_at=as_utc(datetime.fromisoformat(body["created_at"])),
            higher_is_better=bool(body.get("higher_is_better", True)),
            status=body.get("status", "running"),
            stopped_at=None if stopped is None else as_utc(datetime.fromisoformat(stopped)),
        )
