"""Request and response bodies, in Feast's shapes so Feast's HTTP clients work unchanged."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "FeatureVector",
    "GetOnlineFeaturesRequest",
    "GetOnlineFeaturesResponse",
    "MaterializeIncrementalRequest",
    "MaterializeRequest",
    "OutcomeRow",
    "OutcomesRequest",
    "PushRequest",
    "ResponseMetadata",
]

# A JSON scalar: what an entity key, a request field or a pushed value can be.
Scalar = int | float | str | bool | None
Column = list[Scalar | list[Scalar]]


def _check_text(value: Any, path: str) -> None:
    """Refuse text that is not valid Unicode: JSON can carry lone surrogates ("\\ud800"),
    which no store, database or response can hold."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{path}: text that is not valid Unicode (a lone surrogate)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path)
            _check_text(item, f"{path}.{key!r}"[:200])
    elif isinstance(value, list):
        for item in value:
            _check_text(item, path)


class _Body(BaseModel):
    """A request body; every piece of text in it must be valid Unicode."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="after")
    def _valid_text(self) -> _Body:
        for name in type(self).model_fields:
            _check_text(getattr(self, name), name)
        return self


def _same_length(columns: dict[str, Column], what: str) -> dict[str, Column]:
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"every {what} list must have the same length: {shown}")
    return columns


class GetOnlineFeaturesRequest(_Body):
    """Feast's body: features (or a feature service), and entities column-major."""

    features: list[str] | None = Field(
        default=None, description='Feature references, "view:feature".'
    )
    feature_service: str | None = Field(default=None, description="A feature service name.")
    experiment: str | None = Field(
        default=None,
        description="An online experiment id: each entity gets its arm's feature service.",
    )
    entities: dict[str, Column] = Field(
        description="Join keys (and request data for on-demand features), one list per column."
    )
    full_feature_names: bool = Field(
        default=False, description='Name features "view__feature" rather than "feature".'
    )

    @field_validator("entities")
    @classmethod
    def _entities_are_columns(cls, value: dict[str, Column]) -> dict[str, Column]:
        if not value:
            raise ValueError('give at least one join key, e.g. {"user_id": [1, 2]}')
        return _same_length(value, "entities")

    @model_validator(mode="after")
    def _one_feature_list(self) -> GetOnlineFeaturesRequest:
        given = (self.features, self.feature_service, self.experiment)
        if sum(choice is not None for choice in given) != 1:
            raise ValueError(
                "give exactly one of `features` and `feature_service` (or an `experiment` id)"
            )
        if self.features is not None and not self.features:
            raise ValueError("`features` is empty: name at least one feature")
        return self

    @property
    def rows(self) -> int:
        return len(next(iter(self.entities.values())))


class ResponseMetadata(BaseModel):
    feature_names: list[str]
    # Only for a request naming an experiment: its id and each entity row's arm.
    experiment_id: str | None = None
    arms: list[Literal["control", "treatment"]] | None = None


class FeatureVector(BaseModel):
    """One column of the answer: a value, a status and an event time per entity."""

    values: list[Any]
    # NOT_REQUESTED: an experiment's feature that the entity's arm does not serve.
    statuses: list[
        Literal["PRESENT", "NULL_VALUE", "NOT_FOUND", "OUTSIDE_MAX_AGE", "NOT_REQUESTED"]
    ]
    event_timestamps: list[str]


class GetOnlineFeaturesResponse(BaseModel):
    """Feast's answer, column-major: the join keys first, then each feature."""

    metadata: ResponseMetadata
    results: list[FeatureVector]


class PushRequest(_Body):
    """Feast's push body. cinefeat has no push sources: `push_source_name` names the feature
    view, as `feature_view` does."""

    push_source_name: str | None = None
    feature_view: str | None = None
    df: dict[str, Column] = Field(description="Rows to write, column-major.")
    to: Literal["online", "offline", "online_and_offline"] = "online"
    allow_registry_cache: bool = True  # accepted from Feast clients; definitions are cached
    transform_on_write: bool = True  # accepted from Feast clients; nothing to transform

    @field_validator("df")
    @classmethod
    def _df_is_columns(cls, value: dict[str, Column]) -> dict[str, Column]:
        if not value:
            raise ValueError("df has no columns")
        return _same_length(value, "df")

    @model_validator(mode="after")
    def _one_target(self) -> PushRequest:
        if (self.push_source_name is None) == (self.feature_view is None):
            raise ValueError("give exactly one of `push_source_name` and `feature_view`")
        return self

    @property
    def view_name(self) -> str:
        name = self.feature_view if self.feature_view is not None else self.push_source_name
        assert name is not None  # the validator saw to it
        return name

    @property
    def rows(self) -> int:
        return len(next(iter(self.df.values())))


class MaterializeRequest(_Body):
    start_ts: str = Field(description="ISO 8601; naive means UTC.")
    end_ts: str = Field(description="ISO 8601; naive means UTC.")
    feature_views: list[str] | None = None


class MaterializeIncrementalRequest(_Body):
    end_ts: str = Field(description="ISO 8601; naive means UTC.")
    feature_views: list[str] | None = None


class OutcomeRow(_Body):
    """One observed outcome of an online experiment. Its arm is computed from `entity`."""

    entity: dict[str, Scalar] = Field(description='The unit\'s keys, e.g. {"user_id": 1}.')
    value: float = Field(
        strict=True,
        allow_inf_nan=False,
        description="The metric: a number of magnitude at most 1e12, or 0/1.",
    )
    event_timestamp: str | None = Field(
        default=None,
        description="ISO 8601 (naive = UTC), from a day before the experiment's creation to a "
        "day from now; default now.",
    )


class OutcomesRequest(_Body):
    outcomes: list[OutcomeRow] = Field(min_length=1, description="Observed outcomes.")
