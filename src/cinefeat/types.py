"""Feature value types: the dtypes a Field declares, and how each maps to Arrow and DuckDB.

Kept free of heavy imports: pyarrow is only imported when an Arrow type is asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cinefeat.errors import DefinitionError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "Array",
    "Bool",
    "DType",
    "Float32",
    "Float64",
    "Int32",
    "Int64",
    "String",
    "UnixTimestamp",
    "parse_dtype",
]


@dataclass(frozen=True, slots=True)
class DType:
    """A scalar feature type. Compare by name; `str(dtype)` round-trips through `parse_dtype`."""

    name: str
    duckdb_type: str

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return self.name

    def to_arrow(self) -> pa.DataType:
        import pyarrow as pa

        factories = {
            "Int32": pa.int32,
            "Int64": pa.int64,
            "Float32": pa.float32,
            "Float64": pa.float64,
            "String": pa.string,
            "Bool": pa.bool_,
        }
        if self.name == "UnixTimestamp":
            return pa.timestamp("us", tz="UTC")
        return factories[self.name]()

    @property
    def is_timestamp(self) -> bool:
        return self.name == "UnixTimestamp"


@dataclass(frozen=True, slots=True)
class Array:
    """A list of values of one scalar dtype, e.g. `Array(Int64)` for genre ids."""

    inner: DType

    def __post_init__(self) -> None:
        if not isinstance(self.inner, DType):
            raise DefinitionError(
                f"Array({self.inner!r}): the element type must be a scalar dtype "
                f"({', '.join(_SCALARS)}); nested arrays are not supported"
            )

    @property
    def name(self) -> str:
        return f"Array({self.inner.name})"

    @property
    def duckdb_type(self) -> str:
        return f"{self.inner.duckdb_type}[]"

    @property
    def is_timestamp(self) -> bool:
        return False

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return self.name

    def to_arrow(self) -> pa.DataType:
        import pyarrow as pa

        return pa.list_(self.inner.to_arrow())


Int32 = DType("Int32", "INTEGER")
Int64 = DType("Int64", "BIGINT")
Float32 = DType("Float32", "FLOAT")
Float64 = DType("Float64", "DOUBLE")
String = DType("String", "VARCHAR")
Bool = DType("Bool", "BOOLEAN")
UnixTimestamp = DType("UnixTimestamp", "TIMESTAMPTZ")

_SCALARS: dict[str, DType] = {
    t.name: t for t in (Int32, Int64, Float32, Float64, String, Bool, UnixTimestamp)
}
_ARRAY_RE = re.compile(r"^Array\((\w+)\)$")

FeatureDType = DType | Array


def parse_dtype(value: Any) -> FeatureDType:
    """Accept a dtype object or its name ("Int64", "Array(Float32)") and return the dtype.

    Raises DefinitionError listing the known dtypes when the name is not one of them.
    """
    if isinstance(value, DType | Array):
        return value
    if isinstance(value, str):
        name = value.strip()
        if name in _SCALARS:
            return _SCALARS[name]
        match = _ARRAY_RE.match(name)
        if match and match.group(1) in _SCALARS:
            return Array(_SCALARS[match.group(1)])
    known = ", ".join([*_SCALARS, "Array(<scalar>)"])
    raise DefinitionError(f"unknown dtype {value!r}; expected one of {known}")
