"""Samples of a view's stored rows named as on the command line: a Delta version ("7" or
"v7"), an event-time range ("2024-03-01..2024-04-01", either end may be left out) or
"latest"; `cinefeat drift`, `cinefeat stats --sample` and the drift report read them here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from cinefeat.errors import CinefeatError
from cinefeat.offline import to_polars_frame

if TYPE_CHECKING:
    from cinefeat.definitions import FeatureView
    from cinefeat.store import FeatureStore

__all__ = ["SAMPLE_FORMS", "read_view_sample"]

SAMPLE_FORMS = (
    "give a Delta version (7 or v7), an event-time range (2024-03-01..2024-04-01, either end "
    "may be left out), 'latest' or a dataframe"
)


def _time(text: str, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CinefeatError(f"{what}: {text!r} is not an ISO 8601 time; {SAMPLE_FORMS}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def read_view_sample(
    store: FeatureStore, view: FeatureView, sample: Any, what: str
) -> pl.DataFrame:
    """The rows `sample` names: an int or "7"/"v7" is a Delta version, "START..END" the
    latest rows with event time in [START, END) (ISO 8601; times without a zone are UTC),
    "latest" every row now; a pandas/Polars/Arrow frame is used as it is. `what` names the
    argument in errors ("reference", "current")."""
    if not isinstance(sample, str | int) or isinstance(sample, bool):
        given: pl.DataFrame = to_polars_frame(sample, what)
        return given
    version: int | None = None
    start = end = None
    text = str(sample).strip()
    if ".." in text:
        low, high = text.split("..", 1)
        start = _time(low, what) if low else None
        end = _time(high, what) if high else None
    elif text.removeprefix("v").isdigit():
        version = int(text.removeprefix("v"))
    elif text != "latest":
        raise CinefeatError(f"{what}: {text!r} is not a sample; {SAMPLE_FORMS}")
    if not view.is_managed:
        raise CinefeatError(
            f"{what}: {view.name} is not a managed view; it has no stored versions to read"
        )
    frame = pl.from_arrow(store.read_offline(view, version))
    assert isinstance(frame, pl.DataFrame)
    ts = pl.col(view.event_timestamp_column)
    if start is not None:
        frame = frame.filter(ts >= start)
    if end is not None:
        frame = frame.filter(ts < end)
    return frame
