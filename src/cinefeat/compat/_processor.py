"""AdvancedTMDBPreProcessor: the original processor API, a thin wrapper over the TMDB loader's
validation and the movie and user transforms.

`AdvancedTMDBPreProcessor(movies, config)` takes TMDB records (dicts, as the TMDB API returns
them; a list page or any other document the loader reads works too) and loads them exactly as
`load_tmdb` loads a file: the same DuckDB SQL (`records_sql`, `validated_sql`, `finish_load`),
so the same quarantine rules and normalisations. Each record is one document of its own
"file", named `records[i]` in `load_result` (its `quarantined` rows say which record failed
and why). Records that fail validation, and duplicates of a movie within one snapshot (the
most-voted is kept, as in the loader), are quarantined: they get no features. They are never
dropped silently: `load_result` keeps them with their reasons, and a warning gives the count.

Snapshot time: a record's own `snapshot_ts` key (a datetime or an ISO 8601 string) wins over
`config["snapshot_ts"]`; naive times are UTC. Without either, loading raises CinefeatError:
time-relative features (ages, trends) are measured from the snapshot, never the clock, so
nothing here reads the clock. Only `snapshot_ts` of `config` is read.

Results are pandas DataFrames (the original API was pandas), each with `movie_id` (or
`user_id` and `movie_id`) and `event_timestamp`; `movies` holds the canonical Polars rows.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
import pandas as pd
import polars as pl

from cinefeat.definitions import FeatureView
from cinefeat.duck import connect
from cinefeat.errors import CinefeatError, FrameTypeError, SchemaMismatchError
from cinefeat.offline import to_polars_frame
from cinefeat.ondemand import compute_on_demand, hidden_name
from cinefeat.registry import ResolvedOnDemand
from cinefeat.sources._schema import MOVIES_SCHEMA, RATINGS_SCHEMA, LoadResult
from cinefeat.sources._tmdb import finish_load
from cinefeat.sources._tmdb_sql import records_sql
from cinefeat.timeutil import as_utc
from cinefeat.transforms._movie_common import polars_dtype
from cinefeat.transforms.catalog import MOVIE_GROUPS
from cinefeat.transforms.user_activity import user_activity, user_activity_features
from cinefeat.transforms.user_movie import user_movie

__all__ = ["AdvancedTMDBPreProcessor"]

_EVENT = "event_timestamp"
_ROW = "__cf_row"
_AT = "__cf_feature_ts"
_DOCS = "cf_compat_records"
_JSON_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
_WHO = "AdvancedTMDBPreProcessor"


def _moment(value: Any, where: str) -> datetime:
    """A datetime or an ISO 8601 string as an aware UTC datetime (naive means UTC)."""
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, str):
        try:
            return as_utc(datetime.fromisoformat(value.strip()))
        except ValueError:
            pass
    raise CinefeatError(
        f"{where}: snapshot_ts must be a datetime or an ISO 8601 string, got {value!r}"
    )


def _missing(value: Any) -> bool:
    """None, or pandas' NaN, NaT or NA (a column of a record frame that this row lacks)."""
    if isinstance(value, float):
        return math.isnan(value)
    return value is None or value is pd.NA or value is pd.NaT


def _jsonable(value: Any) -> Any:
    """What orjson cannot write itself: pandas missing values, timestamps, numpy scalars."""
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"values of type {type(value).__name__} are not JSON")


def _as_records(movies: Any) -> list[Any]:
    if isinstance(movies, Mapping):  # one document (a record, a list page, ...)
        return [movies]
    if isinstance(movies, pd.DataFrame):
        return movies.to_dict("records")
    if isinstance(movies, pl.DataFrame):
        return movies.to_dicts()
    if isinstance(movies, str | bytes) or not isinstance(movies, Iterable):
        raise FrameTypeError(
            f"{_WHO}: movies must be TMDB records (a list of dicts), got {type(movies).__name__}"
        )
    return list(movies)


def _load(records: Sequence[Any], default: datetime | None, where: str) -> LoadResult:
    """Load `records` as the TMDB loader loads files: record i is the document of a file named
    `records[i]`, whose snapshot time is its own `snapshot_ts`, else `default`."""
    docs: list[str] = []
    moments: list[datetime] = []
    origins: list[str] = []
    missing: list[int] = []
    for i, record in enumerate(records):
        own = record.get("snapshot_ts") if isinstance(record, Mapping) else None
        if not _missing(own):
            moments.append(_moment(own, f"{where}: record {i}"))
            origins.append("record")
        elif default is not None:
            moments.append(default)
            origins.append("config")
        else:
            missing.append(i)
            continue
        try:
            docs.append(orjson.dumps(record, default=_jsonable, option=_JSON_OPTIONS).decode())
        except orjson.JSONEncodeError as exc:
            raise CinefeatError(f"{where}: record {i} cannot be written as JSON: {exc}") from None
    if missing:
        shown = ", ".join(str(i) for i in missing[:10]) + (", ..." if len(missing) > 10 else "")
        raise CinefeatError(
            f"{where}: no snapshot time for {len(missing)} record(s) (indexes {shown}): give "
            "config['snapshot_ts'] or a 'snapshot_ts' key in each record (a datetime or an ISO "
            "8601 string); the clock is never used, so ages and trends stay reproducible"
        )
    sources = [f"records[{i}]" for i in range(len(docs))]
    documents = pl.DataFrame(
        {"doc": docs, "filename": sources}, schema={"doc": pl.String, "filename": pl.String}
    )
    files = pl.DataFrame(
        {
            "source": sources,
            "snapshot_ts": moments,
            "snapshot_from": origins,
            "file_order": range(len(docs)),
        },
        schema={
            "source": pl.String,
            "snapshot_ts": MOVIES_SCHEMA["snapshot_ts"],
            "snapshot_from": pl.String,
            "file_order": pl.Int64,
        },
    )
    connection = connect()
    try:
        connection.register(_DOCS, documents.to_arrow())
        relation = f"(SELECT doc::JSON AS doc, filename FROM {_DOCS})"
        return finish_load(connection, records_sql(relation), files)
    finally:
        connection.close()


def _warn_quarantined(result: LoadResult, where: str) -> None:
    if result.quarantined_count:
        warnings.warn(
            f"{where}: {result.summary()}; quarantined records get no features "
            "(see load_result.quarantined for each record and its reason)",
            stacklevel=3,
        )


def _ratings(data: Any, where: str) -> pl.DataFrame:
    """Ratings as RATINGS_SCHEMA rows: user_id, movie_id, rating and a time, `event_timestamp`
    or else `timestamp` (a datetime, naive meaning UTC; an ISO string; or integer epoch seconds,
    as in MovieLens). Missing columns or null values raise SchemaMismatchError."""
    if isinstance(data, pl.DataFrame | pl.LazyFrame):
        frame = data.lazy().collect()
    elif isinstance(data, Sequence) and not isinstance(data, str | bytes):
        if not data:
            return pl.DataFrame(schema=RATINGS_SCHEMA)
        frame = pl.from_dicts(list(data), infer_schema_length=None)
    else:
        frame = to_polars_frame(data, where)
    time = next((c for c in (_EVENT, "timestamp") if c in frame.columns), None)
    missing = [c for c in ("user_id", "movie_id", "rating") if c not in frame.columns]
    if time is None:
        missing.append("event_timestamp (or timestamp)")
    if missing:
        raise SchemaMismatchError(f"{where}: missing columns {missing}; got {frame.columns}")
    assert time is not None
    dtype = frame.schema[time]
    column = pl.col(time)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            column = column.dt.replace_time_zone("UTC")
        stamp = column.dt.convert_time_zone("UTC")
    elif dtype.is_integer():
        stamp = pl.from_epoch(column, time_unit="s").dt.replace_time_zone("UTC")
    elif dtype == pl.String:
        stamp = column.str.to_datetime(time_unit="us", time_zone="UTC")
    else:
        raise SchemaMismatchError(
            f"{where}: {time!r} is {dtype}; expected datetimes, ISO strings or epoch seconds"
        )
    try:
        ratings = frame.select(
            *(pl.col(name).cast(kind) for name, kind in RATINGS_SCHEMA.items() if name != _EVENT),
            stamp.dt.cast_time_unit("us").alias(_EVENT),
        )
    except pl.exceptions.PolarsError as exc:
        raise SchemaMismatchError(f"{where}: {str(exc).splitlines()[0]}") from None
    nulls = {name: n for name, n in ratings.null_count().row(0, named=True).items() if n}
    if nulls:
        raise SchemaMismatchError(f"{where}: null values (per column) {nulls}")
    return ratings


def _as_of(
    rows: pl.DataFrame, features: pl.DataFrame, view: FeatureView, names: Sequence[str]
) -> pl.DataFrame:
    """`rows` (sorted by event_timestamp) with the named features of the latest row of `view` at
    or before each row's time for its keys, within the view's ttl (as the store's point-in-time
    join), each named `hidden_name(view, feature)` as compute_on_demand expects its inputs."""
    keys = list(view.join_keys)
    right = features.select(
        *keys,
        pl.col(_EVENT).alias(_AT),
        *(pl.col(name).alias(hidden_name(view.name, name)) for name in names),
    ).sort(_AT)
    ttl = timedelta(microseconds=view.ttl_micros) if view.ttl_micros else None
    joined = rows.join_asof(
        right, left_on=_EVENT, right_on=_AT, by=keys, tolerance=ttl, check_sortedness=False
    )
    return joined.drop(_AT, strict=False)


def _rating_aggregates(stats: pl.DataFrame, ratings: pl.DataFrame) -> pl.DataFrame:
    """`stats` (movie rows stamped event_timestamp) with rating_count, rating_mean and
    rating_std (sample, null under 2) of the movie's ratings at or before the row's time."""
    rating = pl.col("rating")
    running = (
        ratings.sort(_EVENT, maintain_order=True)
        .select(
            "movie_id",
            pl.col(_EVENT).alias(_AT),
            pl.int_range(1, pl.len() + 1).over("movie_id").cast(pl.Float64).alias("__n"),
            rating.cum_sum().over("movie_id").alias("__s"),
            (rating * rating).cum_sum().over("movie_id").alias("__ss"),
        )
        .unique(["movie_id", _AT], keep="last", maintain_order=True)  # all of a tied moment
    )
    joined = (
        stats.with_row_index(_ROW)
        .sort(_EVENT, maintain_order=True)
        .join_asof(running, left_on=_EVENT, right_on=_AT, by="movie_id", check_sortedness=False)
        .sort(_ROW)
    )
    n, s, ss = pl.col("__n"), pl.col("__s"), pl.col("__ss")
    # The same running-sum formula as user_activity's rating_std; rounding can make it < 0.
    variance = pl.max_horizontal(ss - s * s / n, pl.lit(0.0)) / (n - 1)
    added = [
        n.fill_null(0).cast(pl.Int64).alias("rating_count"),
        (s / n).alias("rating_mean"),
        pl.when(n >= 2).then(variance.sqrt()).alias("rating_std"),
    ]
    features = [c for c in stats.columns if c != _EVENT]
    return joined.select(*features, *added, _EVENT)


class AdvancedTMDBPreProcessor:
    """TMDB records in, the movie feature groups out (plus rating-based extras).

    >>> processor = AdvancedTMDBPreProcessor(records, {"snapshot_ts": "2024-03-01T06:00:00Z"})
    >>> processor.load_result.summary()   # accepted + quarantined = read, with reasons
    >>> frames = processor.extract_all_features()   # {"basic", "temporal", "statistical", "text"}
    """

    def __init__(self, movies: Any, config: Mapping[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = dict(config or {})
        given = self.config.get("snapshot_ts")
        self.snapshot_ts = None if given is None else _moment(given, f"{_WHO}: config")
        self.load_result = _load(_as_records(movies), self.snapshot_ts, _WHO)
        _warn_quarantined(self.load_result, _WHO)
        self._groups: dict[str, pl.DataFrame] = {}

    @property
    def movies(self) -> pl.DataFrame:
        """The accepted records as canonical movie rows (MOVIES_SCHEMA), in record order."""
        return self.load_result.accepted

    def _group(self, name: str) -> pl.DataFrame:
        """A movie feature group's rows (Polars), computed once by its catalog transform."""
        if name not in self._groups:
            self._groups[name] = MOVIE_GROUPS[name][1](self.movies)
        return self._groups[name]

    def extract_basic_features(self) -> pd.DataFrame:
        """movie_basic: popularity and votes, genre and language flags, rating tier."""
        return self._group("movie_basic").to_pandas()

    def extract_text_features(self) -> pd.DataFrame:
        """movie_text: title and overview lengths, word counts, title patterns, theme words."""
        return self._group("movie_text").to_pandas()

    def extract_temporal_features(self, movies: Any = None) -> pd.DataFrame:
        """movie_temporal (release date parts, age at the snapshot) of this processor's
        movies, or of other TMDB `movies` records, loaded and validated the same way (with
        this config's snapshot_ts); their quarantined records get no row, with a warning."""
        if movies is None:
            return self._group("movie_temporal").to_pandas()
        where = f"{_WHO}.extract_temporal_features"
        result = _load(_as_records(movies), self.snapshot_ts, where)
        _warn_quarantined(result, where)
        return MOVIE_GROUPS["movie_temporal"][1](result.accepted).to_pandas()

    def calculate_statistical_features(self, interactions: Any = None) -> pd.DataFrame:
        """movie_statistical (catalogue z-scores and ranks per snapshot, weighted rating,
        popularity trend). `interactions` are optional ratings (a list of dicts, or a pandas
        or Polars frame: user_id, movie_id, rating, event_timestamp or timestamp); with them,
        each row also gets `rating_count`, `rating_mean` and `rating_std` (sample; null under 2
        ratings) of the movie's ratings at or before the row's snapshot: never later ones."""
        stats = self._group("movie_statistical")
        if interactions is not None:
            ratings = _ratings(interactions, f"{_WHO}.calculate_statistical_features")
            stats = _rating_aggregates(stats, ratings)
        return stats.to_pandas()

    def calculate_user_movie_interactions(self, data: Any) -> pd.DataFrame:
        """One row per rating in `data` (a list of dicts, or a pandas or Polars frame: user_id,
        movie_id, rating, event_timestamp or timestamp), in input order, with the user_movie
        features as of the rating's time, computed by user_movie's udf: user_activity
        (computed from `data`) from the latest day boundary at or before the rating, so from
        the user's ratings of earlier days only; movie_basic and movie_temporal from the
        movie's latest snapshot at or before the rating, within the views' ttl (as the store's
        point-in-time join); request_ts is the rating time. Missing inputs give null features.
        """
        ratings = _ratings(data, f"{_WHO}.calculate_user_movie_interactions")
        if not ratings.height:
            outputs_schema = {f.name: polars_dtype(f.dtype) for f in user_movie.schema}
            return pl.DataFrame(schema={**RATINGS_SCHEMA, **outputs_schema}).to_pandas()
        rows = ratings.with_row_index(_ROW).sort(_EVENT, maintain_order=True)
        features = {
            user_activity.name: (user_activity, user_activity_features(ratings, self.movies))
        }
        for view_input in user_movie.view_inputs:
            if view_input.view not in features:
                view = MOVIE_GROUPS[view_input.view][0]
                features[view.name] = (view, self._group(view.name))
            view, frame = features[view_input.view]
            rows = _as_of(rows, frame, view, view_input.features)
        request = {"request_ts": rows[_EVENT]}  # the rating is the request
        columns = {name: rows[name].to_arrow() for name in rows.columns if name != _ROW}
        columns.update({f.name: request[f.name].to_arrow() for f in user_movie.request_fields})
        names = user_movie.feature_names
        outputs = compute_on_demand(
            ResolvedOnDemand(user_movie, names, names), columns, rows.height
        )
        computed = pl.DataFrame([pl.Series(name, outputs[name]) for name in names])
        result = pl.concat([rows.select(_ROW, *RATINGS_SCHEMA), computed], how="horizontal")
        return result.sort(_ROW).drop(_ROW).to_pandas()

    def extract_all_features(self) -> dict[str, pd.DataFrame]:
        """The four movie feature groups, keyed basic, temporal, statistical and text."""
        return {name.removeprefix("movie_"): self._group(name).to_pandas() for name in MOVIE_GROUPS}
