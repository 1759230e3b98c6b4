"""`--entity-df PATH` of `cinefeat importance` and `cinefeat experiment run`: read the training
examples file, turning a missing, misnamed or unreadable file into a one-line error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cinefeat.errors import CinefeatError

__all__ = ["read_entity_df"]

PARQUET_SUFFIXES = (".parquet", ".pq")


def read_entity_df(path: Path) -> Any:
    """A Parquet file as an Arrow table, or a CSV file as a Polars frame with ISO 8601 dates
    and times parsed (times without a zone are read as UTC downstream)."""
    if not path.is_file():
        raise CinefeatError(f"--entity-df {path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in (*PARQUET_SUFFIXES, ".csv"):
        raise CinefeatError(f"--entity-df {path}: give a .parquet or .csv file")
    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if suffix in PARQUET_SUFFIXES:
            return pq.read_table(path)
        return pl.read_csv(path, try_parse_dates=True)
    except (OSError, pa.ArrowException, pl.exceptions.PolarsError) as exc:
        # Arrow and Polars messages can run over several lines; the first says what is wrong.
        reason = str(exc).strip().partition("\n")[0] or type(exc).__name__
        raise CinefeatError(f"--entity-df {path}: cannot read it: {reason}") from None
