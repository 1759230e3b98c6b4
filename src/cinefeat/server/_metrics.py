"""Prometheus metrics of one app: request latency per endpoint and status (an ASGI middleware,
so even refused and malformed requests are counted), online store read latency per view, and,
computed when scraped, cache hits and misses, each view's feature freshness, and the latest
feature-quality monitoring values (score, null rates, drift, firing alerts)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from cinefeat.store import FeatureStore

__all__ = ["Metrics", "MetricsMiddleware"]

# From well under a millisecond (cache hits) to seconds (pushes, materialization).
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class _StoreCollector(Collector):
    """Values read from the store at scrape time, so the request path pays nothing for them."""

    def __init__(self, store: FeatureStore) -> None:
        self.store = store

    def collect(self) -> Iterable[Metric]:
        stats = self.store.get_cache_stats()
        hits = CounterMetricFamily("cinefeat_online_cache_hits", "Online read cache hits.")
        hits.add_metric([], stats["hits"])
        misses = CounterMetricFamily("cinefeat_online_cache_misses", "Online read cache misses.")
        misses.add_metric([], stats["misses"])
        size = GaugeMetricFamily("cinefeat_online_cache_entries", "Entries in the read cache.")
        size.add_metric([], stats["size"])
        freshness = GaugeMetricFamily(
            "cinefeat_feature_freshness_seconds",
            "Seconds since the event time the view's online values are materialized up to (its "
            "watermark), per online view that was materialized.",
            labels=["feature_view"],
        )
        now = datetime.now(UTC)
        for view in self.store.list_feature_views():
            if not view.online or view.version is None:
                continue
            watermark = self.store.registry.get_watermark(view.name, view.version)
            if watermark is not None:
                age = (now - watermark.event_time).total_seconds()
                freshness.add_metric([view.name], age)
        yield from (hits, misses, size, freshness)
        yield from _quality_metrics(self.store)


def _quality_metrics(store: FeatureStore) -> Iterable[Metric]:
    """The newest value of every monitored metric, from the registry (one query each)."""
    from cinefeat.quality import list_alerts

    records = store.registry.quality_records()
    score = GaugeMetricFamily(
        "cinefeat_quality_score",
        "Quality score (0-100) of a view at its latest monitoring check.",
        labels=["feature_view"],
    )
    view_metric = GaugeMetricFamily(
        "cinefeat_quality_view_metric",
        "Latest monitored value of a view: freshness_seconds (age of its newest event), "
        "rows_checked, duplicate_key_rate, valid_share, drifted_features.",
        labels=["feature_view", "metric"],
    )
    feature_metric = GaugeMetricFamily(
        "cinefeat_quality_feature_metric",
        "Latest monitored value of a feature: null_rate, psi (against the previous check).",
        labels=["feature_view", "feature", "metric"],
    )
    # Only live views and features: a removed view's last values would otherwise be exported
    # (and its alerts counted) for ever.
    live = {v.name: set(v.feature_names) for v in store.list_feature_views()}
    for point in records.latest_points():
        if point.view not in live or (point.feature and point.feature not in live[point.view]):
            continue
        if point.metric == "quality_score":
            score.add_metric([point.view], point.value)
        elif point.feature:
            feature_metric.add_metric([point.view, point.feature, point.metric], point.value)
        else:
            view_metric.add_metric([point.view, point.metric], point.value)
    firing = GaugeMetricFamily(
        "cinefeat_quality_alerts_firing",
        "Alerts firing, per view and rule (freshness, null_rate, drift, duplicate_keys).",
        labels=["feature_view", "rule"],
    )
    counts: dict[tuple[str, str], int] = {}
    for alert in list_alerts(records, status="firing"):
        if alert.view not in live:
            continue
        counts[(alert.view, alert.rule)] = counts.get((alert.view, alert.rule), 0) + 1
    for (view, rule), count in sorted(counts.items()):
        firing.add_metric([view, rule], count)
    yield from (score, view_metric, feature_metric, firing)


class Metrics:
    """The app's own registry (never the process-global one: two apps in one process, as in
    tests, keep separate counts)."""

    def __init__(self, store: FeatureStore) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "cinefeat_http_request_duration_seconds",
            "HTTP request latency, per endpoint (route template), method and status code.",
            ["endpoint", "method", "status"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.online_reads = Histogram(
            "cinefeat_online_store_read_seconds",
            "Latency of one online store round trip (one per view per request), per view.",
            ["feature_view"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_StoreCollector(store))

    def observe_online_read(self, view: str, seconds: float) -> None:
        self.online_reads.labels(view).observe(seconds)


class MetricsMiddleware:
    """Times every HTTP request and labels it with its route template (`/api/v1/feature-views/
    {name}`, never the raw path, so label values stay few)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    @staticmethod
    def _endpoint(scope: Scope) -> str:
        # The router leaves the matched route in the scope; no match (a 404 path): "unmatched".
        return str(getattr(scope.get("route"), "path", "unmatched"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.requests.labels(
                self._endpoint(scope), scope["method"], str(status)
            ).observe(time.perf_counter() - started)
