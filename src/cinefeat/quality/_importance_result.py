"""The value `feature_importance` returns: per-feature permutation importance, mutual information
and model gain, ranked, with how they were measured; JSON-safe for the registry."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinefeat.quality._json import finite_or_none

if TYPE_CHECKING:
    import polars as pl
    from matplotlib.figure import Figure

__all__ = ["FeatureImportance", "ImportanceResult"]


@dataclass(frozen=True)
class FeatureImportance:
    """One feature's scores. `permutation_mean`/`permutation_std`: how much the validation
    metric drops when the feature's held-out values are shuffled (mean and standard deviation
    over the repeats; about 0 for a useless feature, may be slightly negative by chance).
    `mutual_info`: estimated mutual information with the label, in nats (model-free).
    `gain`: the feature's share of the model's total split gain (None for HistGradientBoosting,
    which does not report it). `rank`: 1 for the most important by permutation."""

    feature: str
    permutation_mean: float
    permutation_std: float
    mutual_info: float | None
    gain: float | None
    rank: int
    kind: str = "numeric"  # numeric, boolean, categorical, codes or time (how it was encoded)

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        for name in ("permutation_mean", "permutation_std", "mutual_info", "gain"):
            body[name] = finite_or_none(body[name])
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> FeatureImportance:
        def number(name: str) -> float:
            value = body.get(name)
            return math.nan if value is None else float(value)

        def optional(name: str) -> float | None:
            value = body.get(name)
            return None if value is None else float(value)

        return cls(
            feature=str(body["feature"]),
            permutation_mean=number("permutation_mean"),
            permutation_std=number("permutation_std"),
            mutual_info=optional("mutual_info"),
            gain=optional("gain"),
            rank=int(body["rank"]),
            kind=str(body.get("kind", "numeric")),
        )


@dataclass(frozen=True)
class ImportanceResult:
    """Feature importance for predicting `label`, most important feature first.

    `metric` is what permutation importance measures the drop of ("r2" for regression,
    "roc_auc" for two classes, "accuracy" for more); `validation_score` is the model's score on
    the `validation_rows` held out (the latest by `split_column` when `split == "time"`, a seeded
    random share when `split == "random"`, starting at `holdout_start`). `rows_used` counts the
    labelled rows (train plus validation); `rows_dropped` those without a label.
    `skipped` maps a feature that could not be used to why. `notes` say what a reader should
    know (e.g. that a model has no gain).
    """

    label: str
    task: str  # "regression" or "classification"
    model: str  # "lightgbm" or "hist_gb"
    metric: str
    validation_score: float
    rows_used: int
    features: tuple[FeatureImportance, ...]
    skipped: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    rows_dropped: int = 0
    train_rows: int = 0
    validation_rows: int = 0
    split: str = "random"
    split_column: str | None = None
    holdout_start: str | None = None  # the earliest held-out time (time split), as text
    permutation_rows: int = 0  # held-out rows the shuffles were scored on
    mutual_info_rows: int = 0  # rows the mutual information was estimated from
    n_repeats: int = 0
    seed: int = 0
    classes: tuple[str, ...] = ()  # classification: the label's values, in code order
    service: str | None = None  # set when computed for a feature service
    table_versions: dict[str, int] = field(default_factory=dict)  # Delta versions read
    notes: tuple[str, ...] = ()

    @property
    def ranking(self) -> list[str]:
        """Feature names, most important first."""
        return [f.feature for f in self.features]

    def __getitem__(self, feature: str) -> FeatureImportance:
        for item in self.features:
            if item.feature == feature:
                return item
        raise KeyError(f"{feature!r} is not among the ranked features {self.ranking}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: NaN and infinities become None, times ISO 8601 text."""
        body: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "features":
                value = [f.to_dict() for f in value]
            elif item.name == "created_at":
                value = None if value is None else value.isoformat()
            elif item.name == "validation_score":
                value = finite_or_none(value)
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, dict):
                value = dict(value)
            body[item.name] = value
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> ImportanceResult:
        created = body.get("created_at")
        score = body.get("validation_score")
        return cls(
            label=str(body["label"]),
            task=str(body["task"]),
            model=str(body["model"]),
            metric=str(body["metric"]),
            validation_score=math.nan if score is None else float(score),
            rows_used=int(body["rows_used"]),
            features=tuple(FeatureImportance.from_dict(f) for f in body["features"]),
            skipped={str(k): str(v) for k, v in body.get("skipped", {}).items()},
            created_at=None if created is None else datetime.fromisoformat(created),
            rows_dropped=int(body.get("rows_dropped", 0)),
            train_rows=int(body.get("train_rows", 0)),
            validation_rows=int(body.get("validation_rows", 0)),
            split=str(body.get("split", "random")),
            split_column=body.get("split_column"),
            holdout_start=body.get("holdout_start"),
            permutation_rows=int(body.get("permutation_rows", 0)),
            mutual_info_rows=int(body.get("mutual_info_rows", 0)),
            n_repeats=int(body.get("n_repeats", 0)),
            seed=int(body.get("seed", 0)),
            classes=tuple(str(c) for c in body.get("classes", ())),
            service=body.get("service"),
            table_versions={str(k): int(v) for k, v in body.get("table_versions", {}).items()},
            notes=tuple(str(n) for n in body.get("notes", ())),
        )

    def to_polars(self) -> pl.DataFrame:
        """One row per ranked feature: rank, feature, kind and the three scores."""
        import polars as pl

        schema: dict[str, Any] = {
            "rank": pl.Int64,
            "feature": pl.String,
            "kind": pl.String,
            "permutation_mean": pl.Float64,
            "permutation_std": pl.Float64,
            "mutual_info": pl.Float64,
            "gain": pl.Float64,
        }
        rows = [{name: f.to_dict()[name] for name in schema} for f in self.features]
        return pl.DataFrame(rows, schema=schema)

    def figure(self, top: int = 25) -> Figure:
        """A matplotlib Figure: horizontal bars of the `top` features' permutation importance
        (with one standard deviation), mutual information and gain, side by side."""
        from cinefeat.quality._importance_plot import importance_figure

        return importance_figure(self, top)

    def plot(self, path: str | Path, top: int = 25) -> Path:
        """Write `figure(top)` as a PNG to `path`; returns the path."""
        target = Path(path)
        self.figure(top).savefig(target, format="png", dpi=110)
        return target
