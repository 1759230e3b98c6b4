"""`--entity-df` files, read by one function for `cinefeat importance` and `cinefeat experiment
run`: Parquet as Arrow, CSV as Polars with times parsed, and every bad file a one-line error."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from cinefeat.cli import _experiment, _importance
from cinefeat.cli._entity_df import read_entity_df
from cinefeat.errors import CinefeatError

FRAME = pl.DataFrame(
    {
        "user_id": [1, 2],
        "event_timestamp": [datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC)],
        "rating": [4.0, 2.5],
    }
)


def test_both_commands_use_the_one_reader() -> None:
    assert _experiment.read_entity_df is read_entity_df
    assert _importance.read_entity_df is read_entity_df


@pytest.mark.parametrize("name", ["training.parquet", "training.PQ"])
def test_parquet_is_read_as_arrow(tmp_path: Path, name: str) -> None:
    FRAME.write_parquet(tmp_path / name)
    table = read_entity_df(tmp_path / name)
    assert isinstance(table, pa.Table)
    assert pl.from_arrow(table).equals(FRAME)


def test_csv_times_are_parsed(tmp_path: Path) -> None:
    path = tmp_path / "training.csv"
    path.write_text("user_id,event_timestamp,rating\n1,2024-03-01T00:00:00Z,4.0\n")
    frame = read_entity_df(path)
    assert frame.schema["event_timestamp"] == pl.Datetime("us", "UTC")
    assert frame.row(0) == (1, datetime(2024, 3, 1, tzinfo=UTC), 4.0)


def test_bad_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(CinefeatError, match=r"^--entity-df .*nowhere.csv: no such file$"):
        read_entity_df(tmp_path / "nowhere.csv")
    (tmp_path / "training.json").write_text("{}")
    with pytest.raises(CinefeatError, match=r"training.json: give a .parquet or .csv file$"):
        read_entity_df(tmp_path / "training.json")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 but not really")
    (tmp_path / "bad.csv").write_text('a,b\n1,2\n"x\n')
    for name in ("bad.parquet", "bad.csv"):
        with pytest.raises(CinefeatError) as raised:
            read_entity_df(tmp_path / name)
        message = str(raised.value)
        assert message.startswith(f"--entity-df {tmp_path / name}: cannot read it: ")
        assert "\n" not in message and len(message) > len(f"{tmp_path / name}: cannot read it: ")
        assert raised.value.__cause__ is None and raised.value.__suppress_context__
