"""FeatureView (features of one set of entities, with their time column) and its projections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from cinefeat.definitions._aggregation import Aggregation
from cinefeat.definitions._entity import Entity, Field
from cinefeat.definitions._names import check_metadata, check_name
from cinefeat.definitions._rules import Custom, Rule, check_rule_dtype, rule_from_spec
from cinefeat.definitions._source import FileSource
from cinefeat.errors import DefinitionError
from cinefeat.types import DType, Int32, Int64, String

__all__ = [
    "DEFAULT_CREATED_TIMESTAMP",
    "DEFAULT_EVENT_TIMESTAMP",
    "FeatureView",
    "FeatureViewProjection",
]

DEFAULT_EVENT_TIMESTAMP = "event_timestamp"
DEFAULT_CREATED_TIMESTAMP = "created_timestamp"
_JOIN_KEY_DTYPES: tuple[DType, ...] = (Int32, Int64, String)


def _parse_ttl(where: str, ttl: Any) -> timedelta:
    if ttl is None:
        return timedelta(0)
    if isinstance(ttl, bool) or not isinstance(ttl, timedelta | int | float):
        raise DefinitionError(
            f"{where}: ttl must be a timedelta or a number of seconds, got {ttl!r}"
        )
    value = ttl if isinstance(ttl, timedelta) else timedelta(seconds=ttl)
    if value < timedelta(0):
        raise DefinitionError(f"{where}: ttl must not be negative, got {value}")
    return value


@dataclass(frozen=True, eq=True)
class FeatureView:
    """A group of features of the same entities, stamped with event time.

    `schema` lists the join-key columns (so their dtypes are known) and the features.
    Without a `source` the view is managed: cinefeat stores its rows in a Delta table,
    written through `FeatureStore.write_offline` or `push`. A ttl of zero means no age limit.
    """

    name: str
    entities: Sequence[Entity]
    schema: Sequence[Field]
    source: FileSource | None = None
    ttl: timedelta | int | float | None = timedelta(0)
    online: bool = True
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict, hash=False)
    owner: str = ""
    timestamp_field: str | None = None
    created_timestamp_column: str | None = None
    # Time-window aggregates this view's rows are computed with (see Aggregation).
    aggregations: Sequence[Aggregation] = ()
    # Rules over the view's columns (each names its column), checked with the Fields' own rules
    # by FeatureValidator and FeatureValidationStage.
    rules: Sequence[Rule] = ()
    # Assigned by the registry; user-written definitions leave it unset.
    version: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        check_name("FeatureView", self.name)
        where = f"FeatureView {self.name!r}"
        object.__setattr__(self, "ttl", _parse_ttl(where, self.ttl))
        _, tags, _ = check_metadata(where, self.description, self.tags, self.owner)
        object.__setattr__(self, "tags", tags)
        if not isinstance(self.online, bool):
            raise DefinitionError(f"{where}: online must be True or False, got {self.online!r}")

        entities = self.entities
        if isinstance(entities, Entity):
            entities = (entities,)
        entities = tuple(entities)
        if not entities:
            raise DefinitionError(f"{where}: entities must name at least one Entity")
        for entity in entities:
            if not isinstance(entity, Entity):
                raise DefinitionError(f"{where}: entities must be Entity objects, got {entity!r}")
        object.__setattr__(self, "entities", entities)

        schema = tuple(self.schema)
        seen: set[str] = set()
        for item in schema:
            if not isinstance(item, Field):
                raise DefinitionError(f"{where}: schema must hold Field objects, got {item!r}")
            if item.name in seen:
                raise DefinitionError(f"{where}: field {item.name!r} appears twice in schema")
            seen.add(item.name)
        object.__setattr__(self, "schema", schema)

        by_name = {f.name: f for f in schema}
        join_keys: list[str] = []
        for entity in entities:
            for key in entity.join_keys:
                if key in join_keys:
                    raise DefinitionError(
                        f"{where}: join key {key!r} is used by two entities; "
                        "each join key must belong to one entity"
                    )
                join_keys.append(key)
                if key not in by_name:
                    raise DefinitionError(
                        f"{where}: join key {key!r} of entity {entity.name!r} is missing from "
                        f"schema; add Field(name={key!r}, dtype=Int64) (or String/Int32)"
                    )
                if by_name[key].dtype not in _JOIN_KEY_DTYPES:
                    raise DefinitionError(
                        f"{where}: join key {key!r} has dtype {by_name[key].dtype}; "
                        "join keys must be Int32, Int64 or String"
                    )

        self._check_time_columns(where)
        reserved = {self.event_timestamp_column, self.created_column}
        features = [f for f in schema if f.name not in join_keys]
        for feature in features:
            if feature.name in reserved:
                raise DefinitionError(
                    f"{where}: field {feature.name!r} clashes with the view's timestamp column; "
                    "rename the field or set timestamp_field/created_timestamp_column"
                )
        if not features:
            raise DefinitionError(f"{where}: schema has only join keys; add at least one feature")
        if self.source is not None and not isinstance(self.source, FileSource):
            raise DefinitionError(
                f"{where}: source must be a FileSource or None (managed), got {self.source!r}"
            )
        self._check_aggregations(where)
        self._check_rules(where)
        if self.version is not None and (not isinstance(self.version, int) or self.version < 1):
            raise DefinitionError(
                f"{where}: version must be a positive integer, got {self.version}"
            )

    def _check_aggregations(self, where: str) -> None:
        aggregations = tuple(self.aggregations)
        features = {f.name: f for f in self.features}
        outputs: set[str] = set()
        for aggregation in aggregations:
            if not isinstance(aggregation, Aggregation):
                raise DefinitionError(f"{where}: aggregations must be Aggregation objects")
            for name in aggregation.outputs:
                if name in outputs:
                    raise DefinitionError(f"{where}: two aggregations are both named {name!r}")
                outputs.add(name)
                if name not in features:
                    raise DefinitionError(
                        f"{where}: aggregation {name!r} has no field in schema; add "
                        f"Field({name!r}, ...) (or name the aggregation after an existing field)"
                    )
        object.__setattr__(self, "aggregations", aggregations)

    def _check_rules(self, where: str) -> None:
        rules = self.rules
        if isinstance(rules, str) or not isinstance(rules, Sequence):
            raise DefinitionError(f"{where}: rules must be a list of rules, got {rules!r}")
        columns = {f.name for f in self.schema}
        for rule in rules:
            if not hasattr(rule, "describe") or not hasattr(rule, "column"):
                raise DefinitionError(
                    f"{where}: rules must be rules like InRange(...), got {rule!r}"
                )
            row_level = isinstance(rule, Custom) and rule.expression is not None
            if rule.column not in columns and not (row_level and rule.column == ""):
                raise DefinitionError(
                    f"{where}: rule {rule.describe()!r} checks column {rule.column!r}, which is "
                    f"not in the schema {sorted(columns)}"
                )
            if rule.column in columns:
                check_rule_dtype(rule, self.field(rule.column).dtype, where)
        object.__setattr__(self, "rules", tuple(rules))

    @property
    def all_rules(self) -> tuple[Rule, ...]:
        """The Fields' rules, then the view's."""
        return (*(rule for f in self.schema for rule in f.rules), *self.rules)

    def _check_time_columns(self, where: str) -> None:
        if self.source is not None and (
            self.timestamp_field is not None or self.created_timestamp_column is not None
        ):
            raise DefinitionError(
                f"{where}: a view with a FileSource takes its timestamp columns from the source; "
                "set timestamp_field/created_timestamp_column on the FileSource instead"
            )
        if self.timestamp_field is not None:
            check_name("timestamp_field", self.timestamp_field, where)
        if self.created_timestamp_column is not None:
            check_name("created_timestamp_column", self.created_timestamp_column, where)
        if self.event_timestamp_column == self.created_column:
            raise DefinitionError(
                f"{where}: timestamp_field and created_timestamp_column must differ"
            )

    # -- derived properties ---------------------------------------------------------------

    @property
    def is_managed(self) -> bool:
        """True when cinefeat owns the data (a Delta table), False for a FileSource."""
        return self.source is None

    @property
    def join_keys(self) -> tuple[str, ...]:
        return tuple(key for entity in self.entities for key in entity.join_keys)

    @property
    def entity_names(self) -> tuple[str, ...]:
        return tuple(entity.name for entity in self.entities)

    @property
    def features(self) -> tuple[Field, ...]:
        keys = set(self.join_keys)
        return tuple(f for f in self.schema if f.name not in keys)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def key_fields(self) -> tuple[Field, ...]:
        by_name = {f.name: f for f in self.schema}
        return tuple(by_name[key] for key in self.join_keys)

    @property
    def event_timestamp_column(self) -> str:
        if self.source is not None:
            return self.source.timestamp_field
        return self.timestamp_field or DEFAULT_EVENT_TIMESTAMP

    @property
    def created_column(self) -> str | None:
        """The created-timestamp column; managed views always have one (filled on write)."""
        if self.source is not None:
            return self.source.created_timestamp_column
        return self.created_timestamp_column or DEFAULT_CREATED_TIMESTAMP

    @property
    def ttl_delta(self) -> timedelta:
        assert isinstance(self.ttl, timedelta)
        return self.ttl

    @property
    def ttl_micros(self) -> int:
        """The ttl in whole microseconds (exact: no float rounding); 0 means no limit."""
        return self.ttl_delta // timedelta(microseconds=1)

    @property
    def table_name(self) -> str:
        """Storage name of this version: `user_stats__v2`."""
        if self.version is None:
            raise DefinitionError(
                f"FeatureView {self.name!r} has not been applied; apply it to the store first"
            )
        return f"{self.name}__v{self.version}"

    def field(self, name: str) -> Field:
        for item in self.schema:
            if item.name == name:
                return item
        raise DefinitionError(f"FeatureView {self.name!r} has no field {name!r}")

    def with_version(self, version: int) -> FeatureView:
        return replace(self, version=version)

    def __getitem__(self, features: str | Sequence[str]) -> FeatureViewProjection:
        names = (features,) if isinstance(features, str) else tuple(features)
        return FeatureViewProjection(self, names)

    # -- serialisation --------------------------------------------------------------------

    def to_spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "entities": [e.to_spec() for e in self.entities],
            "schema": [f.to_spec() for f in self.schema],
            "source": self.source.to_spec() if self.source else None,
            "ttl_seconds": self.ttl_delta.total_seconds(),
            "online": self.online,
            "description": self.description,
            "tags": dict(self.tags),
            "owner": self.owner,
            "timestamp_field": self.timestamp_field,
            "created_timestamp_column": self.created_timestamp_column,
            "aggregations": [a.to_spec() for a in self.aggregations],
            # Left out when empty, so specs stored before rules existed compare equal.
            **({"rules": [r.to_spec() for r in self.rules]} if self.rules else {}),
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any], version: int | None = None) -> FeatureView:
        source = spec.get("source")
        return cls(
            name=spec["name"],
            entities=[Entity.from_spec(e) for e in spec["entities"]],
            schema=[Field.from_spec(f) for f in spec["schema"]],
            source=FileSource.from_spec(source) if source else None,
            ttl=timedelta(seconds=spec.get("ttl_seconds", 0)),
            online=spec.get("online", True),
            description=spec.get("description", ""),
            tags=spec.get("tags", {}),
            owner=spec.get("owner", ""),
            timestamp_field=spec.get("timestamp_field"),
            created_timestamp_column=spec.get("created_timestamp_column"),
            aggregations=[Aggregation.from_spec(a) for a in spec.get("aggregations", [])],
            rules=[rule_from_spec(r) for r in spec.get("rules", [])],
            version=version,
        )


@dataclass(frozen=True)
class FeatureViewProjection:
    """A subset of a view's features (`view[["a", "b"]]`), used in FeatureServices."""

    view: FeatureView
    features: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.features:
            raise DefinitionError(f"FeatureView {self.view.name!r}: a projection needs features")
        known = set(self.view.feature_names)
        for name in self.features:
            if name not in known:
                raise DefinitionError(
                    f"FeatureView {self.view.name!r} has no feature {name!r}; "
                    f"its features are {sorted(known)}"
                )
        if len(set(self.features)) != len(self.features):
            raise DefinitionError(
                f"FeatureView {self.view.name!r}: projection {list(self.features)} "
                "repeats a feature"
            )

    @property
    def name(self) -> str:
        return self.view.name
