"""Alerts: a monitoring breach (stale data, too many nulls, drift, repeated keys) opens an alert,
later checks keep it firing or resolve it, and each opening and resolution is sent once to the
configured sink (a JSON-lines file, or an HTTP POST). Alerts live in the registry (kind
"alert"), so `cinefeat alerts` lists them whatever happened to the sink."""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from cinefeat.config import AlertSinkConfig, FileAlertSinkConfig, HttpAlertSinkConfig
from cinefeat.quality._json import json_safe
from cinefeat.registry import QualityRecords
from cinefeat.timeutil import as_utc

if TYPE_CHECKING:
    from cinefeat.store import FeatureStore

__all__ = [
    "ALERT_KIND",
    "Alert",
    "AlertSink",
    "Breach",
    "FileAlertSink",
    "HttpAlertSink",
    "create_alert_sink",
    "list_alerts",
    "update_alerts",
]

ALERT_KIND = "alert"
_MAX_ATTEMPTS = 5  # deliveries tried (once per check) before giving up on a failing sink


@dataclass(frozen=True)
class Breach:
    """One alert condition a check met: `rule` on `feature` ("" for the view as a whole)."""

    feature: str
    rule: str  # "freshness", "null_rate", "drift", "duplicate_keys"
    value: float
    threshold: float
    message: str


@dataclass(frozen=True)
class Alert:
    alert_id: str
    project: str
    view: str
    feature: str
    rule: str
    status: Literal["firing", "resolved"]
    message: str
    value: float
    threshold: float
    started_at: str  # ISO 8601, UTC
    last_seen_at: str
    resolved_at: str | None = None
    # What happened to the last notification: {"status": "sent" | "failed" | "no sink",
    # "error": ..., "attempts": n, "event": "firing" | "resolved"}.
    delivery: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        return cls(**dict(data))


class AlertSink(Protocol):
    """Where alert notifications go. `send` raises OSError (or a subclass) when it failed."""

    def send(self, payload: dict[str, Any]) -> None: ...


class FileAlertSink:
    """Appends each notification as one JSON line (one write of the whole line, O_APPEND, so
    concurrent writers never interleave), then fsyncs."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, payload: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(payload, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


class HttpAlertSink:
    """POSTs each notification as JSON; any answer but 2xx counts as a failed delivery."""

    def __init__(self, url: str, timeout: float, headers: Mapping[str, str]) -> None:
        self.url, self.timeout, self.headers = url, timeout, dict(headers)

    def send(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, sort_keys=True).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", **self.headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise OSError(f"{self.url} answered {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise OSError(f"{self.url} unreachable: {reason}") from None
        except (http.client.HTTPException, ValueError) as exc:  # a bad answer or a bad URL
            raise OSError(f"{self.url}: {type(exc).__name__}: {exc}") from None


def create_alert_sink(config: AlertSinkConfig | None, repo_path: Path) -> AlertSink | None:
    """The sink `quality.alert_sink` configures (None: alerts are only listed)."""
    if isinstance(config, FileAlertSinkConfig):
        path = Path(config.path).expanduser()
        return FileAlertSink(path if path.is_absolute() else repo_path / path)
    if isinstance(config, HttpAlertSinkConfig):
        return HttpAlertSink(config.url, config.timeout_seconds, config.headers)
    return None


def list_alerts(
    records: QualityRecords, view: str | None = None, status: str | None = None
) -> list[Alert]:
    """Alerts, newest first (of `view`, with `status`: looked up by the documents' label, so
    finding the firing ones does not read every resolved alert ever raised)."""
    documents = records.list_documents(ALERT_KIND, view, label=status)
    return [Alert.from_dict(d.body) for d in documents]


def update_alerts(
    store: FeatureStore,
    breaches: Mapping[str, tuple[list[Breach], set[str]]],
    now: datetime,
) -> list[Alert]:
    """Open alerts for new breaches of the checked views, keep firing ones current, resolve
    those whose condition is gone (among the rules the check judged: the second item per
    view), and notify the sink of every opening and resolution (and retry notifications that
    failed). Returns the alerts opened or resolved now."""
    records = store.registry.quality_records()
    sink = create_alert_sink(store.config.quality.alert_sink, store.repo_path)
    stamp = as_utc(now).isoformat()
    changed: list[Alert] = []
    for view, (found, judged) in breaches.items():
        firing = {(a.feature, a.rule): a for a in list_alerts(records, view, "firing")}
        for breach in found:
            key = (breach.feature, breach.rule)
            if key in firing:
                current = firing.pop(key)
                _save(
                    records,
                    replace(
                        current, last_seen_at=stamp, value=breach.value, message=breach.message
                    ),
                )
                continue
            alert = Alert(
                alert_id=f"{view}:{breach.rule}:{breach.feature or '*'}:{now:%Y%m%dT%H%M%S%f}",
                project=store.project,
                view=view,
                feature=breach.feature,
                rule=breach.rule,
                status="firing",
                message=breach.message,
                value=breach.value,
                threshold=breach.threshold,
                started_at=stamp,
                last_seen_at=stamp,
            )
            changed.append(_save(records, _notify(alert, sink)))
        for alert in firing.values():
            if alert.rule not in judged:  # not judged this time: stays as it was
                continue
            resolved = replace(alert, status="resolved", resolved_at=stamp, delivery={})
            changed.append(_save(records, _notify(resolved, sink)))
        # Notifications that failed before (not those just sent) are tried again: of the
        # firing alerts, and of the last resolved ones.
        just_sent = {a.alert_id for a in changed}
        recent = list_alerts(records, view, "firing") + [
            Alert.from_dict(d.body)
            for d in records.list_documents(ALERT_KIND, view, label="resolved", limit=20)
        ]
        for alert in recent:
            if alert.alert_id not in just_sent and alert.delivery.get("status") == "failed":
                _save(records, _retry(alert, sink))
    return changed


def _save(records: QualityRecords, alert: Alert) -> Alert:
    records.put_document(
        ALERT_KIND,
        alert.view,
        alert.alert_id,
        json_safe(alert.to_dict()),
        as_utc(datetime.fromisoformat(alert.started_at)),
        label=alert.status,
    )
    return alert


def _notify(alert: Alert, sink: AlertSink | None, attempts: int = 0) -> Alert:
    if sink is None:
        return replace(alert, delivery={"status": "no sink", "event": alert.status})
    try:
        sink.send({"event": alert.status, **json_safe(alert.to_dict())})
    except Exception as exc:  # any sink failure: recorded on the alert, tried again later
        delivery = {
            "status": "failed",
            "error": str(exc),
            "attempts": attempts + 1,
            "event": alert.status,
        }
        return replace(alert, delivery=delivery)
    return replace(
        alert, delivery={"status": "sent", "attempts": attempts + 1, "event": alert.status}
    )


def _retry(alert: Alert, sink: AlertSink | None) -> Alert:
    """Send again a notification that failed, a few times (once per check)."""
    delivery = alert.delivery
    attempts = int(delivery.get("attempts", 0))
    if delivery.get("status") != "failed" or attempts >= _MAX_ATTEMPTS:
        return alert
    return _notify(alert, sink, attempts)
