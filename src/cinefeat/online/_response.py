"""What an online lookup returns: values, event times and per-value statuses, as Feast has them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FieldStatus", "OnlineResponse"]


class FieldStatus(StrEnum):
    """Why a value is what it is. Same names as Feast's FieldStatus."""

    PRESENT = "PRESENT"
    NULL_VALUE = "NULL_VALUE"  # the entity has a row, but this feature is null in it
    NOT_FOUND = "NOT_FOUND"  # no row for the entity
    OUTSIDE_MAX_AGE = "OUTSIDE_MAX_AGE"  # the row is older than the view's ttl


@dataclass(frozen=True)
class OnlineResponse:
    """Column-major results: one list per join key and per feature, one item per entity row."""

    join_keys: dict[str, list[Any]]
    values: dict[str, list[Any]]
    statuses: dict[str, list[FieldStatus]]
    event_timestamps: dict[str, list[datetime | None]]

    @property
    def feature_names(self) -> list[str]:
        return list(self.values)

    def to_dict(self, include_event_timestamps: bool = False) -> dict[str, list[Any]]:
        """`{join_key: [...], feature: [...]}`; with timestamps, also `feature__ts: [...]`."""
        result: dict[str, list[Any]] = {**self.join_keys, **self.values}
        if include_event_timestamps:
            for name, stamps in self.event_timestamps.items():
                result[f"{name}__ts"] = stamps
        return result

    def to_df(self, include_event_timestamps: bool = False) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.to_dict(include_event_timestamps))
