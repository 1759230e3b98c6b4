"""Monitoring with known answers: a first check, a check that sees drift and a null spike
(alerts open, the file sink gets them once), a check with no new data (only freshness is
judged: stale data opens an alert, data alerts stay), and clean new data resolving them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cinefeat import Entity, FeatureStore, FeatureView, Field
from cinefeat.definitions import NotNull
from cinefeat.quality import SCORE_WEIGHTS, list_alerts, monitor_views
from cinefeat.types import Float64, Int64, String

DAY = datetime(2024, 3, 1, tzinfo=UTC)
N = 2_000
MOVIE = Entity("movie", ["movie_id"])
VIEW = FeatureView(
    "movie_stats",
    [MOVIE],
    [
        Field("movie_id", Int64),
        Field("popularity", Float64),
        Field("votes", Int64, rules=[NotNull(max_null_rate=0.2)]),
        Field("language", String),
    ],
    ttl=timedelta(days=2),
)


def crawl(day: int, mean: float, language_nulls: float, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    votes = rng.poisson(40, N).astype(float)
    votes[: N // 10] = np.nan  # 10% null votes: within the NotNull allowance of 20%
    languages = rng.choice(["en", "fr"], N).astype(object)
    languages[: int(N * language_nulls)] = None
    return pl.DataFrame(
        {
            "movie_id": np.arange(N),
            "popularity": rng.normal(mean, 1.0, N),
            "votes": pl.Series(votes, nan_to_null=True).cast(pl.Int64),
            "language": pl.Series(languages.tolist(), dtype=pl.String),
            "event_timestamp": [DAY + timedelta(days=day)] * N,
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> FeatureStore:
    (tmp_path / "cinefeat.yaml").write_text(
        "project: mon\nquality:\n  alert_sink: {type: file, path: alerts.jsonl}\n"
    )
    feature_store = FeatureStore(tmp_path)
    feature_store.apply([MOVIE, VIEW])
    return feature_store


def sent(store: FeatureStore) -> list[dict[str, object]]:
    path = store.repo_path / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_checks_record_series_score_and_alerts(store: FeatureStore) -> None:
    store.write_offline("movie_stats", crawl(0, 5.0, 0.0, seed=1))
    first = monitor_views(store, now=DAY + timedelta(hours=1), context="run-1").checks[0]
    assert (first.rows, first.window_versions, first.window_start, first.window_end) == (
        N,
        (None, 0),
        DAY,
        DAY,
    )
    assert first.freshness_seconds == 3600.0 and first.staleness_budget_seconds == 172_800.0
    assert first.null_rates == {"popularity": 0.0, "votes": 0.1, "language": 0.0}
    assert first.duplicate_keys == 0 and first.valid_share == 1.0 and first.drift is None
    completeness = 1 - 0.1 / 3
    want = (
        100
        * (
            SCORE_WEIGHTS["completeness"] * completeness
            + SCORE_WEIGHTS["validity"]
            + SCORE_WEIGHTS["uniqueness"]
            + SCORE_WEIGHTS["freshness"]
        )
        / (1 - SCORE_WEIGHTS["stability"])
    )
    assert first.score is not None and first.score.score == pytest.approx(want)
    assert list_alerts(store.registry.quality_records()) == [] and sent(store) == []

    # Day 1: popularity shifts by one sd, 30% of languages go missing.
    store.write_offline("movie_stats", crawl(1, 6.0, 0.3, seed=2))
    report = monitor_views(store, now=DAY + timedelta(days=1, hours=1), context="run-2")
    second = report.checks[0]
    assert (second.window_versions, second.window_start, second.rows) == (
        (0, 1),
        DAY + timedelta(days=1),
        N,
    )
    assert second.reference_versions == (None, 0)
    assert second.drift is not None and second.drift.drifted_columns == ["popularity"]
    assert second.null_rates["language"] == 0.3
    opened = {(a.rule, a.feature) for a in report.alerts}
    assert opened == {("drift", "popularity"), ("null_rate", "language")}
    assert {(m["event"], m["rule"], m["feature"]) for m in sent(store)} == {
        ("firing", "drift", "popularity"),
        ("firing", "null_rate", "language"),
    }
    assert all(a.delivery["status"] == "sent" for a in report.alerts)
    series = store.registry.quality_records().points("movie_stats", metric="null_rate")
    assert [(p.feature, p.value, p.context) for p in series if p.feature == "language"] == [
        ("language", 0.0, "run-1"),
        ("language", 0.3, "run-2"),
    ]

    # Four days later, nothing new: the data is stale; the data alerts are left as they are.
    stale = monitor_views(store, now=DAY + timedelta(days=4))
    assert stale.checks[0].rows == 0 and stale.checks[0].freshness_seconds == 3 * 86_400
    assert [(a.rule, a.status) for a in stale.alerts] == [("freshness", "firing")]
    firing = list_alerts(store.registry.quality_records(), "movie_stats", "firing")
    assert {a.rule for a in firing} == {"drift", "null_rate", "freshness"}
    # Its score keeps the last data components and loses on freshness.
    assert stale.checks[0].score is not None
    assert stale.checks[0].score.components["freshness"] == pytest.approx(2 / 3)
    assert stale.checks[0].score.components["completeness"] == pytest.approx(
        second.score.components["completeness"]  # type: ignore[union-attr]
    )

    # Clean new data like day 1's: everything resolves, each resolution sent once.
    store.write_offline("movie_stats", crawl(4, 6.0, 0.0, seed=3))
    clean = monitor_views(store, now=DAY + timedelta(days=4, hours=1))
    assert clean.checks[0].drift is not None and clean.checks[0].drift.drifted_columns == []
    assert sorted((a.rule, a.status) for a in clean.alerts) == [
        ("drift", "resolved"),
        ("freshness", "resolved"),
        ("null_rate", "resolved"),
    ]
    assert list_alerts(store.registry.quality_records(), status="firing") == []
    assert [m["event"] for m in sent(store)].count("resolved") == 3
    assert len(sent(store)) == 6


def test_a_view_never_written_is_skipped(store: FeatureStore) -> None:
    assert monitor_views(store).checks == []


class _Receiver:
    """A real HTTP server on a free loopback port that records the JSON bodies POSTed to it
    (answering `status`)."""

    def __init__(self, status: int = 200) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received = self.received = []  # type: ignore[var-annotated]
        answer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.append((self.headers.get("X-Team"), json.loads(self.rfile.read(length))))
                self.send_response(answer.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.status = status
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/cinefeat"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def http_store(tmp_path: Path, url: str) -> FeatureStore:
    (tmp_path / "cinefeat.yaml").write_text(
        "project: mon\nquality:\n  monitoring: {max_null_rate: 0.05}\n  alert_sink:\n"
        f"    {{type: http, url: '{url}', timeout_seconds: 2, headers: {{X-Team: recs}}}}\n"
    )
    store = FeatureStore(tmp_path)
    store.apply([MOVIE, VIEW])
    store.write_offline("movie_stats", crawl(0, 5.0, 0.5, seed=1))  # 50% null languages
    return store


def test_http_sink_posts_each_alert_once(tmp_path: Path) -> None:
    receiver = _Receiver()
    try:
        store = http_store(tmp_path, receiver.url)
        monitor_views(store, now=DAY + timedelta(hours=1))
        monitor_views(store, now=DAY + timedelta(hours=2))  # still firing: not sent again
    finally:
        receiver.close()
    assert len(receiver.received) == 1
    team, body = receiver.received[0]
    assert team == "recs"
    assert (body["event"], body["rule"], body["feature"], body["project"]) == (
        "firing",
        "null_rate",
        "language",
        "mon",
    )
    assert body["value"] == 0.5 and body["threshold"] == 0.05


def test_a_failing_sink_is_recorded_and_retried(tmp_path: Path) -> None:
    receiver = _Receiver(status=503)
    try:
        store = http_store(tmp_path, receiver.url)
        first = monitor_views(store, now=DAY + timedelta(hours=1)).alerts[0]
        assert first.delivery["status"] == "failed" and "503" in first.delivery["error"]
        receiver.status = 200
        monitor_views(store, now=DAY + timedelta(hours=2))
    finally:
        receiver.close()
    alert = list_alerts(store.registry.quality_records(), "movie_stats")[0]
    assert alert.delivery == {"status": "sent", "attempts": 2, "event": "firing"}
    assert [body["event"] for _, body in receiver.received] == ["firing", "firing"]


def test_a_sparse_feature_alerts_only_when_its_null_rate_rises(store: FeatureStore) -> None:
    def check(day: int, language_nulls: float) -> list[tuple[str, str, float]]:
        store.write_offline("movie_stats", crawl(day, 5.0, language_nulls, seed=day))
        report = monitor_views(store, now=DAY + timedelta(days=day, hours=1))
        return [(a.rule, a.status, a.threshold) for a in report.alerts]

    assert check(0, 0.6) == []  # no absolute limit on language, nothing to compare with
    assert check(1, 0.6) == []  # as sparse as before
    assert check(2, 0.8) == [("null_rate", "firing", pytest.approx(0.7))]  # 0.6 + 0.1
    assert check(3, 0.75) == []  # still above the threshold it opened with
    assert check(4, 0.65) == [("null_rate", "resolved", pytest.approx(0.7))]
    alert = list_alerts(store.registry.quality_records(), "movie_stats")[0]
    assert alert.message == "75.00% nulls (since the alert opened)"


def test_rows_committed_later_with_older_event_times_are_checked(store: FeatureStore) -> None:
    # A backfill: the second commit's rows are older than the first's.
    store.write_offline("movie_stats", crawl(5, 5.0, 0.0, seed=1))
    monitor_views(store, now=DAY + timedelta(days=5, hours=1))
    backfill = crawl(2, 5.0, 0.0, seed=2).with_columns(pl.lit(None, pl.Int64).alias("votes"))
    store.write_offline("movie_stats", backfill)
    report = monitor_views(store, now=DAY + timedelta(days=5, hours=2))
    check = report.checks[0]
    assert (check.rows, check.window_versions, check.window_start) == (
        N,
        (0, 1),
        DAY + timedelta(days=2),
    )
    assert check.null_rates["votes"] == 1.0
    assert [(a.rule, a.feature) for a in report.alerts] == [("null_rate", "votes")]  # NotNull 20%


def test_a_sink_answering_garbage_is_a_failed_delivery(tmp_path: Path) -> None:
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def answer_garbage() -> None:
        connection, _ = server.accept()
        connection.recv(65536)
        connection.sendall(b"garbage\r\n\r\n")
        connection.close()

    threading.Thread(target=answer_garbage, daemon=True).start()
    try:
        store = http_store(tmp_path, f"http://127.0.0.1:{server.getsockname()[1]}/hook")
        report = monitor_views(store, now=DAY + timedelta(hours=1))
    finally:
        server.close()
    (alert,) = report.alerts
    assert alert.delivery["status"] == "failed" and "BadStatusLine" in alert.delivery["error"]
    # The check is stored with its alert.
    assert len(store.registry.quality_records().list_documents("monitor", "movie_stats")) == 1


def test_a_view_named_twice_is_checked_once(store: FeatureStore) -> None:
    store.write_offline("movie_stats", crawl(0, 5.0, 0.0, seed=1))
    report = monitor_views(store, ["movie_stats", "movie_stats"], now=DAY)
    assert [c.rows for c in report.checks] == [N]


def test_two_checks_at_once_see_each_new_row_once(store: FeatureStore) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store.write_offline("movie_stats", crawl(0, 5.0, 0.5, seed=1))
    (store.repo_path / "cinefeat.yaml").write_text(
        "project: mon\nquality: {monitoring: {max_null_rate: 0.05}}\n"
    )
    stores = [FeatureStore(store.repo_path) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda s: monitor_views(s, now=DAY + timedelta(hours=1)), stores))
    assert sorted(r.checks[0].rows for r in reports) == [0, N]
    firing = list_alerts(store.registry.quality_records(), "movie_stats", "firing")
    assert [(a.rule, a.feature) for a in firing] == [("null_rate", "language")]  # once
