"""FileSource: feature data that already lives in Parquet files outside cinefeat."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cinefeat.definitions._names import check_name
from cinefeat.errors import DefinitionError

__all__ = ["FileSource"]


@dataclass(frozen=True, eq=True)
class FileSource:
    """An existing Parquet file or directory of Parquet files, read in place (never copied).

    A relative `path` is resolved against the repo directory when the store reads it.
    """

    path: str
    timestamp_field: str = "event_timestamp"
    created_timestamp_column: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.path, Path):
            object.__setattr__(self, "path", str(self.path))
        if not isinstance(self.path, str) or not self.path:
            raise DefinitionError(f"FileSource: path must be a non-empty string, got {self.path!r}")
        where = f"FileSource {self.path!r}"
        check_name("timestamp_field", self.timestamp_field, where)
        if self.created_timestamp_column is not None:
            check_name("created_timestamp_column", self.created_timestamp_column, where)
            if self.created_timestamp_column == self.timestamp_field:
                raise DefinitionError(
                    f"{where}: created_timestamp_column and timestamp_field are both "
                    f"{self.timestamp_field!r}; they must be different columns"
                )

    def resolve(self, repo_path: Path) -> Path:
        path = Path(self.path).expanduser()
        return path if path.is_absolute() else repo_path / path

    def to_spec(self) -> dict[str, Any]:
        return {
            "type": "file",
            "path": self.path,
            "timestamp_field": self.timestamp_field,
            "created_timestamp_column": self.created_timestamp_column,
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> FileSource:
        return cls(
            path=spec["path"],
            timestamp_field=spec["timestamp_field"],
            created_timestamp_column=spec.get("created_timestamp_column"),
        )
