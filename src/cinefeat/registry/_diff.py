"""The result of planning an apply: one ObjectChange per entity, view and service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["ObjectChange", "RegistryDiff"]

ChangeKind = Literal["add", "update", "remove", "unchanged"]


@dataclass(frozen=True)
class ObjectChange:
    """One object's fate in an apply. `new_version` is set when a view gets a new version."""

    kind: Literal["entity", "feature_view", "on_demand_feature_view", "feature_service"]
    name: str
    change: ChangeKind
    breaking: bool = False
    reasons: tuple[str, ...] = ()
    new_version: int | None = None

    def describe(self) -> str:
        label = {"add": "+", "update": "~", "remove": "-", "unchanged": "="}[self.change]
        moved = self.change == "add" or self.breaking
        version = f" -> v{self.new_version}" if self.new_version and moved else ""
        breaking = " [BREAKING]" if self.breaking else ""
        why = f": {'; '.join(self.reasons)}" if self.reasons else ""
        return f"{label} {self.kind} {self.name}{version}{breaking}{why}"


@dataclass(frozen=True)
class RegistryDiff:
    changes: tuple[ObjectChange, ...] = field(default_factory=tuple)

    @property
    def has_changes(self) -> bool:
        return any(c.change != "unchanged" for c in self.changes)

    @property
    def breaking(self) -> tuple[ObjectChange, ...]:
        return tuple(c for c in self.changes if c.breaking)

    def of(self, change: ChangeKind) -> tuple[ObjectChange, ...]:
        return tuple(c for c in self.changes if c.change == change)

    def __str__(self) -> str:
        lines = [c.describe() for c in self.changes if c.change != "unchanged"]
        return "\n".join(lines) if lines else "no changes"
