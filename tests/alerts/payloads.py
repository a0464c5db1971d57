"""Realistic webhook payloads as Alertmanager and Grafana send them (for the intake tests)."""

from __future__ import annotations

import copy
from typing import Any


def alertmanager_message(
    *,
    alerts: int = 2,
    status: str = "firing",
    prefix: str = "node",
    with_fingerprint: bool = True,
    starts_at: str = "2026-01-05T11:58:03.184716309Z",
) -> dict[str, Any]:
    """An Alertmanager v0.27 webhook body (version 4), with `alerts` distinct alerts."""
    items = []
    for i in range(alerts):
        item: dict[str, Any] = {
            "status": status,
            "labels": {
                "alertname": "HighErrorRate",
                "instance": f"{prefix}-{i}:9100",
                "job": "checkout",
                "severity": "page",
            },
            "annotations": {"summary": f"5xx ratio above 5% on {prefix}-{i}"},
            "startsAt": starts_at,
            "endsAt": "2026-01-05T12:10:03.184716309Z"
            if status == "resolved"
            else "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=rate%28errors%5B5m%5D%29",
        }
        if with_fingerprint:
            from alerts.fingerprint import fingerprint

            item["fingerprint"] = fingerprint(item["labels"])
        items.append(item)
    message: dict[str, Any] = {
        "receiver": "opsloop\\.intake",
        "status": status,
        "alerts": items,
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate", "job": "checkout", "severity": "page"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}/{severity="page"}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
    }
    return message


def resolved_copy(message: dict[str, Any]) -> dict[str, Any]:
    resolved = copy.deepcopy(message)
    resolved["status"] = "resolved"
    for item in resolved["alerts"]:
        item["status"] = "resolved"
        item["endsAt"] = "2026-01-05T12:10:03.184716309Z"
    return resolved


GRAFANA_MESSAGE: dict[str, Any] = {
    "receiver": "opsloop",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
            "annotations": {
                "description": "The system has high memory usage",
                "runbook_url": "https://runbooks.example/1234",
                "summary": "This alert was triggered for zone us-1",
            },
            "startsAt": "2026-01-05T09:51:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example/alerting/1afz29v7z/edit",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://grafana.example/alerting/silence/new?alertmanager=grafana",
            "dashboardURL": "",
            "panelURL": "",
            "imageURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
            "valueString": "[ var='B' labels={} value=44.23943737541908 ]",
        },
        {
            "status": "firing",
            "labels": {"alertname": "High CPU usage", "team": "blue", "service": "billing"},
            "annotations": {"summary": "CPU"},
            "startsAt": "2026-01-05T09:56:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example/alerting/d1rdpdv7k/edit",
            "silenceURL": "https://grafana.example/alerting/silence/new",
            "dashboardURL": "https://grafana.example/d/x",
            "panelURL": "https://grafana.example/d/x?viewPanel=2",
            "valueString": "[ metric='' labels={} value=14151.331895396988 ]",
        },
    ],
    "groupLabels": {},
    "commonLabels": {"team": "blue"},
    "commonAnnotations": {},
    "externalURL": "https://grafana.example/",
    "version": "1",
    "groupKey": "{}:{}",
    "truncatedAlerts": 0,
    "title": "[FIRING:2]  (blue)",
    "state": "alerting",
    "message": "**Firing**\n\nValue: B=44.23943737541908, C=1\nLabels:\n - alertname = T2\n",
}
