"""Delivery to receivers: one small class per kind behind one base, and one outbound-HTTP seam.

A notification is stored as Alertmanager's webhook payload (version 4); each sender turns
it into its kind's request:
- `webhook`: the payload as is, with optional bearer or basic auth and an HMAC-SHA256
  signature: header `X-Opsloop-Timestamp` (Unix seconds) and header
  `X-Opsloop-Signature: sha256=<hex>` over `<timestamp>.<body>` with the receiver's secret;
- `slack`: an incoming-webhook message (`text` in Slack's mrkdwn);
- `alertmanager`: POST `<url>/api/v2/alerts` with the alerts as Prometheus sends them
  (a firing alert's `endsAt` is "valid until" now + 4 minutes, as Prometheus sets it).

Status policy: 2xx is delivered; 5xx, 408, 429 and network errors are retried with backoff;
any other 4xx is permanent (retrying cannot help) and is shown on the receiver.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import requests

from alerts.errors import NotifyError
from alerts.receivers import ReceiverConfig, ReceiverKind
from core import __version__

USER_AGENT = f"opsloop/{__version__}"
TIMESTAMP_HEADER = "X-Opsloop-Timestamp"
SIGNATURE_HEADER = "X-Opsloop-Signature"
RETRYABLE_4XX = frozenset({408, 429})
# Prometheus: ValidUntil = eval time + 4 x max(evaluation interval, resend delay of 1m)
ALERTMANAGER_VALID_FOR = timedelta(minutes=4)
MAX_ERROR_CHARS = 500
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


@dataclass(frozen=True)
class HttpResult:
    status_code: int
    body: str
    latency_ms: float


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of one attempt, as stored in the notification log."""

    ok: bool
    status_code: int | None
    latency_ms: float
    error: str | None = None
    permanent: bool = False


def post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> HttpResult:
    """The one outbound-HTTP seam: default User-Agent, a timeout, no redirects followed."""
    started = time.perf_counter()
    try:
        response = requests.post(
            url,
            data=body,
            headers={"User-Agent": USER_AGENT, **headers},
            timeout=timeout_s,
            allow_redirects=False,
        )
    except requests.Timeout:
        raise NotifyError(f"no answer within {timeout_s:g}s") from None
    except requests.RequestException as exc:
        raise NotifyError(f"network error: {_reason(exc)}"[:MAX_ERROR_CHARS]) from None
    latency_ms = (time.perf_counter() - started) * 1000
    return HttpResult(response.status_code, response.text[:MAX_ERROR_CHARS], latency_ms)


def _reason(exc: requests.RequestException) -> str:
    """The useful part of requests' nested error text (`Connection refused`, not the pool)."""
    found = _ERRNO.search(str(exc))
    return found.group(1).strip() if found else f"{type(exc).__name__}: {exc}"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value: `sha256=` + hex HMAC-SHA256 of `<timestamp>.<body>`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def go_time(moment: datetime | None) -> str:
    """RFC 3339 as Go marshals time.Time (fraction without trailing zeros; zero time)."""
    if moment is None:
        return "0001-01-01T00:00:00Z"
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


class Sender(ABC):
    """Base of every receiver kind: build the request, post it, classify the answer."""

    kind: ClassVar[ReceiverKind]

    def __init__(self, config: ReceiverConfig) -> None:
        self.config = config

    @abstractmethod
    def build(self, payload: dict[str, Any], now: datetime) -> tuple[str, bytes, dict[str, str]]:
        """The URL, body and headers of one delivery."""

    def send(self, payload: dict[str, Any], now: datetime) -> DeliveryResult:
        url, body, headers = self.build(payload, now)
        started = time.perf_counter()
        try:
            answer = post(url, body, headers, self.config.timeout_s)
        except NotifyError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return DeliveryResult(False, None, elapsed, exc.message, exc.permanent)
        if 200 <= answer.status_code < 300:
            return DeliveryResult(True, answer.status_code, answer.latency_ms)
        permanent = 400 <= answer.status_code < 500 and answer.status_code not in RETRYABLE_4XX
        error = f"HTTP {answer.status_code}: {answer.body.strip()[:200]}".rstrip(": ")
        return DeliveryResult(False, answer.status_code, answer.latency_ms, error, permanent)


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookSender(Sender):
    kind = ReceiverKind.WEBHOOK

    def build(self, payload: dict[str, Any], now: datetime) -> tuple[str, bytes, dict[str, str]]:
        body = _json(payload)
        headers = {"Content-Type": "application/json"}
        cfg = self.config
        if cfg.bearer_token:
            headers["Authorization"] = f"Bearer {cfg.bearer_token}"
        elif cfg.basic_auth:
            user, password = cfg.basic_auth
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        if cfg.hmac_secret:
            timestamp = str(int(now.timestamp()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(cfg.hmac_secret, timestamp, body)
        return cfg.url, body, headers


class SlackSender(Sender):
    kind = ReceiverKind.SLACK

    def build(self, payload: dict[str, Any], now: datetime) -> tuple[str, bytes, dict[str, str]]:
        return (
            self.config.url,
            _json({"text": slack_text(payload)}),
            {"Content-Type": "application/json"},
        )


def slack_text(payload: dict[str, Any]) -> str:
    alerts = payload.get("alerts", [])
    firing = sum(1 for a in alerts if a.get("status") == "firing")
    status = str(payload.get("status", "firing")).upper()
    count = firing if status == "FIRING" else len(alerts)
    group = " ".join(f"{k}={v}" for k, v in sorted(payload.get("groupLabels", {}).items()))
    lines = [f"*[{status}:{count}]* {group}".rstrip()]
    for alert in alerts:
        labels, notes = alert.get("labels", {}), alert.get("annotations", {})
        title = notes.get("summary") or labels.get("alertname", "alert")
        mark = ":red_circle:" if alert.get("status") == "firing" else ":large_green_circle:"
        lines.append(f"{mark} {title}")
        if notes.get("description"):
            lines.append(f"    {notes['description']}")
    if payload.get("truncatedAlerts"):
        lines.append(f"... and {payload['truncatedAlerts']} more")
    if payload.get("externalURL"):
        lines.append(f"<{payload['externalURL']}/alerts/|Open in opsloop>")
    return "\n".join(lines)


class AlertmanagerSender(Sender):
    kind = ReceiverKind.ALERTMANAGER

    def build(self, payload: dict[str, Any], now: datetime) -> tuple[str, bytes, dict[str, str]]:
        valid_until = go_time(now + ALERTMANAGER_VALID_FOR)
        alerts = [
            {
                "labels": a["labels"],
                "annotations": a["annotations"],
                "startsAt": a["startsAt"],
                "endsAt": a["endsAt"] if a["status"] == "resolved" else valid_until,
                "generatorURL": a["generatorURL"],
            }
            for a in payload.get("alerts", [])
        ]
        url = f"{self.config.url}/api/v2/alerts"
        return url, _json(alerts), {"Content-Type": "application/json"}


SENDERS: dict[ReceiverKind, type[Sender]] = {
    ReceiverKind.WEBHOOK: WebhookSender,
    ReceiverKind.SLACK: SlackSender,
    ReceiverKind.ALERTMANAGER: AlertmanagerSender,
}


def sender_for(config: ReceiverConfig) -> Sender:
    return SENDERS[config.kind](config)
