"""The declarative objects a repo is made of: entities, fields, sources, views,
services and the validation rules of fields and views.

They validate on construction, so a mistake is reported where it is written, naming the object
and the field.
"""

from cinefeat.definitions._aggregation import Aggregation
from cinefeat.definitions._entity import Entity, Field
from cinefeat.definitions._on_demand import OnDemandFeatureView, RequestSource
from cinefeat.definitions._rules import (
    AllowedValues,
    Custom,
    InRange,
    Matches,
    NotNull,
    Rule,
    Unique,
    rule_from_spec,
)
from cinefeat.definitions._service import FeatureService, ServiceFeatures
from cinefeat.definitions._source import FileSource
from cinefeat.definitions._view import (
    DEFAULT_CREATED_TIMESTAMP,
    DEFAULT_EVENT_TIMESTAMP,
    FeatureView,
    FeatureViewProjection,
)

__all__ = [
    "DEFAULT_CREATED_TIMESTAMP",
    "DEFAULT_EVENT_TIMESTAMP",
    "Aggregation",
    "AllowedValues",
    "Custom",
    "Entity",
    "FeatureService",
    "FeatureView",
    "FeatureViewProjection",
    "Field",
    "FileSource",
    "InRange",
    "Matches",
    "NotNull",
    "OnDemandFeatureView",
    "RequestSource",
    "Rule",
    "ServiceFeatures",
    "Unique",
    "rule_from_spec",
]
