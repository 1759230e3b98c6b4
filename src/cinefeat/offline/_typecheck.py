"""Which Arrow types may stand for which cinefeat dtypes. One rule, used for written data,
FileSource Parquet files and entity dataframes alike."""

from __future__ import annotations

import pyarrow as pa

from cinefeat.types import Array, DType

__all__ = ["describe_arrow_type", "dtype_accepts", "key_accepts", "plain_type"]

_INT32_OK: tuple[pa.DataType, ...] = (pa.int8(), pa.int16(), pa.int32(), pa.uint8(), pa.uint16())
_INT: dict[str, tuple[pa.DataType, ...]] = {
    "Int32": _INT32_OK,
    "Int64": (*_INT32_OK, pa.int64(), pa.uint32()),
}
_FLOAT = {
    "Float32": (pa.float16(), pa.float32()),
    "Float64": (pa.float16(), pa.float32(), pa.float64()),
}


def plain_type(actual: pa.DataType) -> pa.DataType:
    """The value type behind encodings that do not change meaning (dictionary, views)."""
    if pa.types.is_dictionary(actual):
        actual = actual.value_type
    if pa.types.is_string_view(actual) or pa.types.is_large_string(actual):
        return pa.string()
    return actual


def _is_string(actual: pa.DataType) -> bool:
    return bool(pa.types.is_string(plain_type(actual)))


def dtype_accepts(dtype: DType | Array, actual: pa.DataType) -> bool:
    """Lossless or conventional widenings only: a string is never a number, a float never an
    int (a float column declared Int64 would be silently rounded)."""
    if pa.types.is_null(actual):
        return True
    if isinstance(dtype, Array):
        if not (pa.types.is_list(actual) or pa.types.is_large_list(actual)):
            return False
        return dtype_accepts(dtype.inner, actual.value_type)
    actual = plain_type(actual)
    name = dtype.name
    if name in _INT:
        return actual in _INT[name]
    if name in _FLOAT:
        return actual in _FLOAT[name] or bool(pa.types.is_integer(actual))
    if name == "String":
        return _is_string(actual)
    if name == "Bool":
        return bool(pa.types.is_boolean(actual))
    return name == "UnixTimestamp" and bool(pa.types.is_timestamp(actual))


def key_accepts(dtype: DType | Array, actual: pa.DataType) -> bool:
    """Entity dataframe keys only need to compare equal: any integer for an integer key."""
    if pa.types.is_null(actual):
        return True
    if isinstance(dtype, DType) and dtype.name == "String":
        return _is_string(actual)
    return bool(pa.types.is_integer(plain_type(actual)))


def describe_arrow_type(actual: pa.DataType) -> str:
    """Arrow type names as users know them: pandas' large_string is just a string."""
    if pa.types.is_large_string(actual) or pa.types.is_string_view(actual):
        return "string"
    if pa.types.is_large_list(actual):
        return f"list<{describe_arrow_type(actual.value_type)}>"
    return str(actual)
