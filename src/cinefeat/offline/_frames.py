"""Turning whatever frame a user holds (pandas, Polars, Arrow) into an Arrow table, cheaply."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from cinefeat.errors import FrameTypeError

__all__ = ["UTC_MICROS", "to_arrow_table", "to_polars_frame", "to_utc_micros"]

UTC_MICROS = pa.timestamp("us", tz="UTC")


def to_polars_frame(frame: Any, what: str = "data") -> Any:
    """`frame` (as `to_arrow_table` takes it) as a Polars DataFrame."""
    import polars as pl

    converted = pl.from_arrow(to_arrow_table(frame, what))
    assert isinstance(converted, pl.DataFrame)  # a Table always converts to a DataFrame
    return converted


def to_arrow_table(frame: Any, what: str = "data") -> pa.Table:
    """Accept pandas, Polars (eager or lazy), a pyarrow Table/RecordBatch, or any object with the
    Arrow C stream interface. The pandas index is dropped unless it is a named index."""
    if isinstance(frame, pa.Table):
        return frame
    if isinstance(frame, pa.RecordBatch):
        return pa.Table.from_batches([frame])
    module = type(frame).__module__.split(".")[0]
    if module == "polars":
        import polars as pl

        if isinstance(frame, pl.LazyFrame):
            frame = frame.collect()
        return frame.to_arrow()
    if module == "pandas":
        import pandas as pd

        if isinstance(frame, pd.DataFrame):
            keep_index = any(name is not None for name in frame.index.names)
            try:
                return pa.Table.from_pandas(frame, preserve_index=keep_index)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                # e.g. an object column mixing strings and numbers
                raise FrameTypeError(f"{what}: cannot convert to Arrow: {exc}") from None
    if hasattr(frame, "__arrow_c_stream__"):
        return pa.table(frame)
    if isinstance(frame, dict):
        return pa.table(frame)
    raise FrameTypeError(
        f"{what} must be a pandas or Polars DataFrame or a pyarrow Table, "
        f"got {type(frame).__name__}"
    )


def to_utc_micros(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Timestamps of any unit and zone as UTC microseconds. Naive means UTC. Finer units are
    floored (toward the past, also before 1970), so a time never moves later than it was."""
    if column.type.tz is None:
        column = column.cast(pa.timestamp(column.type.unit, tz="UTC"))
    if column.type.unit == "ns":
        column = pc.floor_temporal(column, 1, "microsecond")
    return column.cast(UTC_MICROS)
