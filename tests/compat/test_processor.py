"""AdvancedTMDBPreProcessor: the original processor API over the loader and the transforms,
on a few TMDB records whose features are worked out by hand."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest
from pandas.testing import assert_frame_equal
from polars.testing import assert_frame_equal as assert_polars_equal

from cinefeat import CinefeatError, FeatureStore, SchemaMismatchError
from cinefeat.compat import _processor
from cinefeat.compat._processor import AdvancedTMDBPreProcessor
from cinefeat.sources import load_tmdb
from cinefeat.transforms import MOVIE_GROUPS, builtin_definitions, user_activity_features
from cinefeat.transforms.user_movie import user_movie, user_movie_features

C = datetime(2024, 3, 1, 6, tzinfo=UTC)  # config["snapshot_ts"]
S2 = datetime(2024, 3, 8, 6, tzinfo=UTC)  # records 4 and 5 carry their own snapshot_ts
CONFIG = {"snapshot_ts": "2024-03-01T06:00:00Z"}
OUTPUTS = ["genre_affinity", "rating_bias", "popularity_match", "is_new_release_for_user"]


def tmdb(
    movie_id: int,
    title: str,
    release: str,
    genres: list[int],
    popularity: float,
    average: float,
    votes: int,
    overview: str = "",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": movie_id, "title": title, "original_language": "en", "release_date": release,
        "genre_ids": genres, "popularity": popularity, "vote_average": average,
        "vote_count": votes, "adult": False, "overview": overview, **extra,
    }  # fmt: skip


NAIVE_S2 = S2.replace(tzinfo=None)  # naive means UTC
RECORDS = [
    tmdb(550, "Fight Club", "1999-10-15", [18, 53], 61.4, 8.4, 27000, "His lover and a war."),
    tmdb(603, "The Matrix", "1999-03-30", [28, 878], 83.2, 8.2, 24000),
    tmdb(13, "", "1994-06-23", [35], 50.0, 11, 100),  # quarantined: two problems
    tmdb(1011985, "Kung Fu Panda 4", "2024-03-08", [16, 28, 10751, 35], 150.0, 7.1, 300),
    # Their own snapshot_ts wins over the config's: an ISO string and a naive (UTC) datetime.
    tmdb(
        550, "Fight Club", "1999-10-15", [18, 53], 70.0, 8.0, 28000, snapshot_ts="2024-03-08T06:00Z"
    ),
    tmdb(680, "Pulp Fiction", "1994-09-10", [53, 80], 60.0, 8.5, 26000, snapshot_ts=NAIVE_S2),
]
ACCEPTED_IDS = [550, 603, 1011985, 550, 680]


def at(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, tzinfo=UTC)


RATINGS = [
    {"user_id": user, "movie_id": movie, "rating": rating, "timestamp": when}
    for user, movie, rating, when in [
        (1, 603, 4.0, at(2, 10)),
        (1, 550, 5.0, at(5, 12)),
        (1, 603, 2.0, at(5, 18)),  # the same day as the rating before: does not see it
        (1, 550, 3.0, at(9, 8)),  # Fight Club's 03-08 snapshot by now
        (2, 603, 4.5, at(28, 9, month=2)),  # before any snapshot
        (2, 603, 3.5, at(15, 9, month=4)),  # The Matrix's only snapshot is 45 days old (ttl 30)
        (3, 603, 5.0, at(2, 11)),
        (3, 550, 4.0, at(6, 9)),
        (3, 1011985, 4.0, at(9, 12)),  # released 03-08: after the user's last rating
    ]
]


@pytest.fixture(scope="module")
def processor() -> AdvancedTMDBPreProcessor:
    with pytest.warns(UserWarning, match=r"quarantined 1 .*get no features"):
        return AdvancedTMDBPreProcessor(RECORDS, CONFIG)


def test_records_are_validated_and_quarantined_like_the_loader(
    processor: AdvancedTMDBPreProcessor, tmp_path: Path
) -> None:
    result = processor.load_result
    assert (result.read, result.accepted_count, result.quarantined_count) == (6, 5, 1)
    bad = result.quarantined.row(0, named=True)
    assert bad["source"] == "records[2]" and json.loads(bad["raw"])["id"] == 13
    assert bad["reason"] == "missing title; invalid vote_average: 11 is outside 0-10"
    assert processor.movies["movie_id"].to_list() == ACCEPTED_IDS
    for frame in processor.extract_all_features().values():
        assert 13 not in frame["movie_id"].tolist()  # a quarantined record gets no features
    # load_tmdb on the same records, written as two files, one per snapshot.
    (tmp_path / "c.json").write_text(json.dumps({"results": RECORDS[:4]}))
    plain = [{k: v for k, v in r.items() if k != "snapshot_ts"} for r in RECORDS[4:]]
    (tmp_path / "s2.json").write_text(json.dumps({"results": plain}))
    loaded = [load_tmdb(tmp_path / "c.json", C), load_tmdb(tmp_path / "s2.json", S2)]
    assert_polars_equal(processor.movies, pl.concat([r.accepted for r in loaded]))
    assert result.quarantined["reason"].to_list() == loaded[0].quarantined["reason"].to_list()
    for name, (_, transform) in MOVIE_GROUPS.items():
        direct = transform(pl.concat([r.accepted for r in loaded])).to_pandas()
        assert_frame_equal(processor.extract_all_features()[name.removeprefix("movie_")], direct)


def test_a_record_snapshot_ts_wins_over_the_config(processor: AdvancedTMDBPreProcessor) -> None:
    assert processor.movies["snapshot_ts"].to_list() == [C, C, C, S2, S2]
    files = processor.load_result.extras["files"]
    assert files["snapshot_from"].to_list() == ["config"] * 4 + ["record"] * 2
    temporal = processor.extract_temporal_features()
    assert temporal["days_since_release"].tolist() == [8904, 9103, -7, 8911, 10772]
    assert temporal["is_future_release"].tolist() == [False, False, True, False, False]
    # Without a config, records carrying their own time need none.
    alone = AdvancedTMDBPreProcessor(RECORDS[4:])
    assert alone.movies["snapshot_ts"].to_list() == [S2, S2]


def test_a_missing_or_bad_snapshot_time_is_a_clear_error() -> None:
    with pytest.raises(CinefeatError, match=r"no snapshot time for 2 record\(s\) \(indexes 0, 1\)"):
        AdvancedTMDBPreProcessor(RECORDS[:2], {})
    with pytest.raises(CinefeatError, match=r"no snapshot time .*config\['snapshot_ts'\]"):
        AdvancedTMDBPreProcessor(RECORDS[:1])
    with pytest.raises(CinefeatError, match="record 0: snapshot_ts must be a datetime or an ISO"):
        AdvancedTMDBPreProcessor([{**RECORDS[0], "snapshot_ts": "last Tuesday"}], CONFIG)


def test_every_frame_has_movie_id_and_matches_its_method(
    processor: AdvancedTMDBPreProcessor,
) -> None:
    frames = processor.extract_all_features()
    assert list(frames) == ["basic", "temporal", "statistical", "text"]
    for frame in frames.values():
        assert isinstance(frame, pd.DataFrame)
        assert frame["movie_id"].tolist() == ACCEPTED_IDS
        assert frame["event_timestamp"].tolist() == [C, C, C, S2, S2]
    assert_frame_equal(frames["basic"], processor.extract_basic_features())
    assert_frame_equal(frames["temporal"], processor.extract_temporal_features(None))
    assert_frame_equal(frames["statistical"], processor.calculate_statistical_features())
    assert_frame_equal(frames["text"], processor.extract_text_features())


def test_hand_checked_values(processor: AdvancedTMDBPreProcessor) -> None:
    basic = processor.extract_basic_features()
    assert basic["log_popularity"][0] == pytest.approx(math.log(62.4))
    assert basic[["genre_drama", "genre_thriller", "genre_action"]].iloc[0].tolist() == [
        True, True, False,
    ]  # fmt: skip
    assert basic["genre_count"].tolist() == [2, 2, 4, 2, 2]
    assert basic["rating_tier"].tolist() == ["excellent"] * 2 + ["good"] + ["excellent"] * 2
    text = processor.extract_text_features()
    assert text["is_sequel"].tolist() == [False, False, True, False, False]  # "Kung Fu Panda 4"
    assert (text["kw_romance"][0], text["kw_war"][0]) == (1, 1)  # "His lover and a war."
    stats = processor.calculate_statistical_features()
    # Snapshot C: 27000, 24000, 300 votes; m = q0.75 = 25500, C = mean(8.4, 8.2, 7.1) = 7.9.
    assert stats["weighted_rating"][0] == pytest.approx((27000 * 8.4 + 25500 * 7.9) / 52500)
    assert stats["popularity_pct_rank"].tolist() == [0.0, 0.5, 1.0, 1.0, 0.0]
    assert stats["popularity_change"][3] == pytest.approx(70.0 - 61.4)
    assert pd.isna(stats["popularity_slope_7d"][3])  # the C snapshot is exactly 7 days back


def test_statistical_features_with_interactions(processor: AdvancedTMDBPreProcessor) -> None:
    stats = processor.calculate_statistical_features(RATINGS)
    plain = processor.calculate_statistical_features()
    assert_frame_equal(stats[plain.columns], plain)
    # Only ratings at or before each snapshot: 603 at C has the Feb 28 rating; 550 at S2 the
    # ratings of 03-05 (5.0) and 03-06 (4.0); the later ones count nowhere.
    assert stats["rating_count"].tolist() == [0, 1, 0, 2, 0]
    assert stats["rating_mean"].tolist()[1::2] == [4.5, 4.5]
    assert stats["rating_std"][3] == pytest.approx(math.sqrt(0.5))
    assert stats[["rating_mean", "rating_std"]].iloc[[0, 2, 4]].isna().all().all()
    # MovieLens-style pandas input: integer epoch seconds in `timestamp`.
    seconds = pd.DataFrame(RATINGS).assign(timestamp=lambda f: f["timestamp"].map(_epoch))
    assert_frame_equal(processor.calculate_statistical_features(seconds), stats)
    iso = [{**r, "timestamp": r["timestamp"].isoformat()} for r in RATINGS]  # ISO strings
    assert_frame_equal(processor.calculate_statistical_features(iso), stats)
    with pytest.raises(SchemaMismatchError, match=r"missing columns \['rating'\]"):
        processor.calculate_statistical_features([{"user_id": 1, "movie_id": 2, "timestamp": C}])


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def test_user_movie_interactions_are_point_in_time_correct(
    processor: AdvancedTMDBPreProcessor,
) -> None:
    assert user_movie.udf is user_movie_features
    got = processor.calculate_user_movie_interactions(pl.DataFrame(RATINGS))
    assert got.columns.tolist() == ["user_id", "movie_id", "rating", "event_timestamp", *OUTPUTS]
    assert got["event_timestamp"].tolist() == [r["timestamp"] for r in RATINGS]
    ln = math.log
    matrix, fight_c, fight_s2, panda = ln(84.2), ln(62.4), ln(71.0), ln(151.0)
    expected: list[list[Any]] = [
        [None, None, None, None],  # the user's first day: no activity yet
        # Activity as of 03-03: one rating (4.0 of The Matrix: action, sci-fi); movie at C.
        [0.0, 4.0 - 8.4 / 2, math.exp(-(matrix - fight_c)), False],
        [2.0, 4.0 - 8.2 / 2, 1.0, False],  # 03-05 12:00 is the same day: not seen
        # Three earlier ratings (4, 5, 2; genres 603, 550, 603); Fight Club as crawled 03-08.
        [2 / 3, 11 / 3 - 8.0 / 2, math.exp(-abs((2 * matrix + fight_c) / 3 - fight_s2)), False],
        [None, None, None, None],  # no snapshot and no activity before Feb 28
        [None, None, None, None],  # the snapshot is older than the ttl: no movie features
        [None, None, None, None],
        [0.0, 5.0 - 8.4 / 2, math.exp(-(matrix - fight_c)), False],
        [0.5, 4.5 - 7.1 / 2, math.exp(-abs((matrix + fight_c) / 2 - panda)), True],
    ]
    for row, want in zip(got[OUTPUTS].itertuples(index=False), expected, strict=True):
        for value, wanted in zip(row, want, strict=True):
            if wanted is None:
                assert pd.isna(value)
            else:
                assert value == pytest.approx(wanted)
    empty = processor.calculate_user_movie_interactions([])
    assert empty.empty and empty.columns.tolist() == got.columns.tolist()


def test_user_movie_interactions_equal_the_store(
    processor: AdvancedTMDBPreProcessor, tmp_path: Path
) -> None:
    (tmp_path / "cinefeat.yaml").write_text("project: compat_processor\n")
    store = FeatureStore(tmp_path)
    try:
        store.apply(builtin_definitions())
        for name, (_, transform) in MOVIE_GROUPS.items():
            store.write_offline(name, transform(processor.movies))
        ratings = pl.DataFrame(RATINGS).rename({"timestamp": "event_timestamp"})
        ratings = ratings.with_columns(pl.col("event_timestamp").dt.cast_time_unit("us"))
        store.write_offline("user_activity", user_activity_features(ratings, processor.movies))
        entity = ratings.with_columns(pl.col("event_timestamp").alias("request_ts"))
        offline = store.get_historical_features(entity, [f"user_movie:{n}" for n in OUTPUTS])
        expected = offline.to_polars().select(OUTPUTS)
    finally:
        store.close()
    got = pl.from_pandas(processor.calculate_user_movie_interactions(RATINGS)[OUTPUTS])
    assert_polars_equal(got, expected, check_dtypes=False)


def test_temporal_features_of_other_records(processor: AdvancedTMDBPreProcessor) -> None:
    with pytest.warns(UserWarning, match="extract_temporal_features: movies: read 2"):
        other = processor.extract_temporal_features([RECORDS[2], RECORDS[5]])
    assert other["movie_id"].tolist() == [680]
    assert other["days_since_release"].tolist() == [10772]  # its own snapshot time, S2
    # Records as a pandas frame: a row without its own snapshot_ts (NaN there) uses the config.
    frame = processor.extract_temporal_features(pd.DataFrame(RECORDS[3:]))
    assert frame["days_since_release"].tolist() == [-7, 8911, 10772]
    assert frame["event_timestamp"].tolist() == [C, S2, S2]


# A fake clock: every Python-level clock cinefeat code can read (time.time, and datetime/date
# as cinefeat modules imported them; none imports the datetime module itself) reads `moment`.
# The datetime module is left alone: Polars classifies a Python type once per process, looking
# datetime.datetime up at that moment, so patching it could mistype real datetimes for good.
_REAL_DATETIME, _REAL_DATE = dt.datetime, dt.date


class _IsDatetime(type):
    def __instancecheck__(cls, value: object) -> bool:  # real datetimes pass isinstance
        return isinstance(value, _REAL_DATETIME)


class _IsDate(type):
    def __instancecheck__(cls, value: object) -> bool:
        return isinstance(value, _REAL_DATE)


class _FrozenDatetime(dt.datetime, metaclass=_IsDatetime):
    moment = _REAL_DATETIME(2000, 1, 1, tzinfo=UTC)

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _FrozenDatetime:
        return cls.fromtimestamp(cls.moment.timestamp(), tz)

    @classmethod
    def utcnow(cls) -> _FrozenDatetime:
        return cls.fromtimestamp(cls.moment.timestamp(), UTC).replace(tzinfo=None)

    @classmethod
    def today(cls) -> _FrozenDatetime:
        return cls.now()


class _FrozenDate(dt.date, metaclass=_IsDate):
    @classmethod
    def today(cls) -> _FrozenDate:
        moment = _FrozenDatetime.moment
        return cls(moment.year, moment.month, moment.day)


def _freeze(patch: pytest.MonkeyPatch, moment: datetime) -> None:
    patch.setattr(_FrozenDatetime, "moment", moment)
    patch.setattr(time, "time", lambda: moment.timestamp())
    patch.setattr(time, "time_ns", lambda: int(moment.timestamp()) * 1_000_000_000)
    for name, module in list(sys.modules.items()):
        if not name.startswith("cinefeat"):
            continue
        if getattr(module, "datetime", None) is _REAL_DATETIME:
            patch.setattr(module, "datetime", _FrozenDatetime)
        if getattr(module, "date", None) is _REAL_DATE:
            patch.setattr(module, "date", _FrozenDate)


def _everything() -> list[pd.DataFrame]:
    with pytest.warns(UserWarning):
        processor = AdvancedTMDBPreProcessor(RECORDS, CONFIG)
    return [
        *processor.extract_all_features().values(),
        processor.calculate_statistical_features(RATINGS),
        processor.calculate_user_movie_interactions(RATINGS),
    ]


def test_the_clock_is_never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    results = []
    for moment in (datetime(1999, 1, 1, tzinfo=UTC), datetime(2041, 7, 9, tzinfo=UTC)):
        with monkeypatch.context() as patch:
            _freeze(patch, moment)
            assert vars(_processor)["datetime"].now(UTC).year == moment.year  # the fake clock is on
            assert time.time() == moment.timestamp()
            results.append(_everything())
    for first, second, unfrozen in zip(*results, _everything(), strict=True):
        assert_frame_equal(first, second)
        assert_frame_equal(first, unfrozen)
    assert vars(_processor)["datetime"] is _REAL_DATETIME  # and the real clock is back
