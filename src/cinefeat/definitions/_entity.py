"""Entity and Field: what features are keyed by, and what each feature is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cinefeat.definitions._names import check_metadata, check_name
from cinefeat.definitions._rules import Rule, rule_from_spec, rules_for_column
from cinefeat.errors import DefinitionError
from cinefeat.types import Array, DType, parse_dtype

__all__ = ["Entity", "Field"]


@dataclass(frozen=True, eq=True)
class Entity:
    """A thing features describe (a user, a movie), identified by one or more join keys."""

    name: str
    join_keys: Sequence[str] = ()
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict, hash=False)
    owner: str = ""

    def __post_init__(self) -> None:
        check_name("Entity", self.name)
        where = f"Entity {self.name!r}"
        keys = self.join_keys
        if isinstance(keys, str):
            keys = (keys,)
        keys = tuple(keys) if keys else (self.name,)
        for key in keys:
            check_name("join key", key, where)
        if len(set(keys)) != len(keys):
            raise DefinitionError(f"{where}: join_keys {list(keys)} contain a duplicate")
        _, tags, _ = check_metadata(where, self.description, self.tags, self.owner)
        object.__setattr__(self, "join_keys", keys)
        object.__setattr__(self, "tags", tags)

    def to_spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "join_keys": list(self.join_keys),
            "description": self.description,
            "tags": dict(self.tags),
            "owner": self.owner,
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Entity:
        return cls(
            name=spec["name"],
            join_keys=tuple(spec["join_keys"]),
            description=spec.get("description", ""),
            tags=spec.get("tags", {}),
            owner=spec.get("owner", ""),
        )


@dataclass(frozen=True, eq=True)
class Field:
    """One column of a feature view: a join key or a feature, with its dtype and the rules its
    values must satisfy (`rules=[InRange(min=0, max=10)]`: see cinefeat.definitions._rules)."""

    name: str
    dtype: DType | Array
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict, hash=False)
    rules: Sequence[Rule] = ()

    def __post_init__(self) -> None:
        check_name("Field", self.name)
        where = f"Field {self.name!r}"
        try:
            dtype = parse_dtype(self.dtype)
        except DefinitionError as exc:
            raise DefinitionError(f"{where}: {exc}") from None
        _, tags, _ = check_metadata(where, self.description, self.tags, "")
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "tags", tags)
        object.__setattr__(self, "rules", rules_for_column(self.name, self.rules, where, dtype))

    def to_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "name": self.name,
            "dtype": str(self.dtype),
            "description": self.description,
            "tags": dict(self.tags),
        }
        if self.rules:  # left out when empty, so specs stored before rules existed still match
            spec["rules"] = [rule.to_spec() for rule in self.rules]
        return spec

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Field:
        return cls(
            name=spec["name"],
            dtype=parse_dtype(spec["dtype"]),
            description=spec.get("description", ""),
            tags=spec.get("tags", {}),
            rules=[rule_from_spec(r) for r in spec.get("rules", [])],
        )
