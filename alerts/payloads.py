"""Alertmanager's webhook payload (version 4), built from stored alerts, field for field."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from alerts.fingerprint import fingerprint
from alerts.models import Alert, AlertState
from alerts.receivers import ReceiverConfig
from alerts.senders import go_time
from core.clock import as_utc


def labelset_string(labels: Mapping[str, str]) -> str:
    """prometheus/common LabelSet.String(): `{a="b", c="d"}`, sorted by name."""
    inner = ", ".join(f"{k}={json.dumps(labels[k], ensure_ascii=False)}" for k in sorted(labels))
    return "{" + inner + "}"


def summarize(payload: Mapping[str, object]) -> str:
    alerts = payload.get("alerts") or []
    assert isinstance(alerts, list)
    firing = sum(1 for a in alerts if a.get("status") == "firing")
    names = sorted({a.get("labels", {}).get("alertname", "?") for a in alerts})
    text = f"{firing} firing, {len(alerts) - firing} resolved: {', '.join(names)}"
    return text[:255]


def webhook_payload(
    receiver: ReceiverConfig,
    group_key: str,
    group_labels: Mapping[str, str],
    alerts: Sequence[Alert],
    external_url: str,
) -> dict[str, object]:
    """Alertmanager's webhook payload, version 4, field for field."""
    items = [_alert_item(a, external_url) for a in alerts]
    items.sort(key=lambda item: (item["status"] != "firing", labelset_string(item["labels"])))
    truncated = 0
    if receiver.max_alerts and len(items) > receiver.max_alerts:
        truncated = len(items) - receiver.max_alerts
        items = items[: receiver.max_alerts]
    return {
        "receiver": receiver.name,
        "status": "firing" if any(i["status"] == "firing" for i in items) else "resolved",
        "alerts": items,
        "groupLabels": dict(group_labels),
        "commonLabels": _common([i["labels"] for i in items]),
        "commonAnnotations": _common([i["annotations"] for i in items]),
        "externalURL": external_url,
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": truncated,
    }


def _alert_item(alert: Alert, external_url: str) -> dict[str, Any]:
    labels = alert.label_map
    resolved = alert.state == AlertState.RESOLVED.value
    return {
        "status": "resolved" if resolved else "firing",
        "labels": labels,
        "annotations": alert.annotation_map,
        "startsAt": go_time(as_utc(alert.fired_at or alert.starts_at)),
        "endsAt": go_time(as_utc(alert.ends_at or alert.resolved_at or now_of(alert)))
        if resolved
        else go_time(None),
        "generatorURL": alert.generator_url or f"{external_url}/alerts/{alert.id}",
        "fingerprint": fingerprint(labels),
    }


def now_of(alert: Alert) -> datetime:
    return as_utc(alert.last_seen_at)


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    common = dict(maps[0])
    for other in maps[1:]:
        common = {k: v for k, v in common.items() if other.get(k) == v}
    return common
