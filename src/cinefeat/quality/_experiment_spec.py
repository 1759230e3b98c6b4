"""An offline experiment's definition as stored in the registry (kind "experiment", key
"spec", `"mode": "offline"`): the two arms' feature sets and the settings, checked on creation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cinefeat.quality._ab_models import MODELS
from cinefeat.quality._ab_stats import METRICS, TESTS
from cinefeat.quality._online_spec import ExperimentError

__all__ = ["ExperimentSummary", "FeatureSet", "OfflineExperiment", "check_settings"]


@dataclass(frozen=True)
class FeatureSet:
    """One arm's features as references, and the service they came from (if any). A service
    is resolved to its references when the experiment is created, so reruns use the same."""

    refs: tuple[str, ...]
    service: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"refs": list(self.refs), "service": self.service}

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> FeatureSet:
        return cls(tuple(body["refs"]), body.get("service"))

    def describe(self) -> str:
        listed = ", ".join(self.refs)
        return f"{self.service} ({listed})" if self.service else listed


@dataclass(frozen=True)
class OfflineExperiment:
    """An offline experiment's definition, as stored under key "spec"."""

    experiment_id: str
    name: str
    control: FeatureSet
    treatment: FeatureSet
    label: str
    metric: str = "rmse"
    model: str = "lightgbm"
    folds: int = 5
    alpha: float = 0.05
    n_bootstrap: int = 2000
    seed: int = 0
    user_column: str = "user_id"
    ndcg_k: int = 10
    test: str = "t"
    test_fraction: float = 0.3
    description: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        body = {f: getattr(self, f) for f in self.__dataclass_fields__}
        body.update(
            mode="offline",
            control=self.control.to_dict(),
            treatment=self.treatment.to_dict(),
            created_at=self.created_at.isoformat(),
        )
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> OfflineExperiment:
        values = {name: body[name] for name in cls.__dataclass_fields__ if name in body}
        values["control"] = FeatureSet.from_dict(body["control"])
        values["treatment"] = FeatureSet.from_dict(body["treatment"])
        values["created_at"] = datetime.fromisoformat(body["created_at"])
        return cls(**values)


@dataclass(frozen=True)
class ExperimentSummary:
    """One experiment of either mode, as `list_experiments` shows it."""

    experiment_id: str
    name: str
    mode: str  # "offline" or "online"
    created_at: datetime
    decision: str | None  # of the latest stored result; None before the first
    description: str = ""


def check_settings(
    name: str,
    label: str,
    metric: str,
    model: str,
    folds: int,
    alpha: float,
    n_bootstrap: int,
    ndcg_k: int,
    test: str,
    test_fraction: float,
) -> None:
    """Every problem of an experiment's settings at once, named by parameter."""
    problems = []
    if not isinstance(name, str) or not name.strip():
        problems.append(f"name must be a non-empty string, got {name!r}")
    if not isinstance(label, str) or not label:
        problems.append(f"label must name a column of entity_df, got {label!r}")
    if metric not in METRICS:
        problems.append(f"metric must be one of {list(METRICS)}, got {metric!r}")
    if model not in MODELS:
        problems.append(f"model must be one of {list(MODELS)}, got {model!r}")
    if not isinstance(folds, int) or folds < 2:
        problems.append(f"folds must be an integer of at least 2, got {folds!r}")
    if not 0.0 < alpha < 1.0:
        problems.append(f"alpha must be between 0 and 1, got {alpha!r}")
    if n_bootstrap < 100:
        problems.append(f"n_bootstrap must be at least 100, got {n_bootstrap!r}")
    if ndcg_k < 1:
        problems.append(f"ndcg_k must be at least 1, got {ndcg_k!r}")
    if test not in TESTS:
        problems.append(f"test must be one of {list(TESTS)}, got {test!r}")
    if not 0.0 < test_fraction < 1.0:
        problems.append(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    if problems:
        raise ExperimentError("experiment settings: " + "; ".join(problems))
