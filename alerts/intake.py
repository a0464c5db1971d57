"""Parsing and validation of foreign alert webhooks: Alertmanager (version 4) and Grafana.

Payloads are validated with pydantic (its Rust core parses JSON and datetimes fast, and its
error locations let the message name the field and the alert index). Unknown fields are
ignored, so newer senders (`notification_reason`, `routeLabels`, ...) keep working.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictStr, ValidationError

from alerts.errors import IntakeError
from alerts.fingerprint import fingerprint
from alerts.models import AlertSource, AlertState

MAX_INTAKE_BYTES = 1024 * 1024
MAX_ALERTS_PER_PAYLOAD = 1000
# Go's zero time.Time: Alertmanager sends it as endsAt of alerts that are still open.
_GO_ZERO_YEAR = 1
_FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")
# regexp.QuoteMeta in Go escapes these; Alertmanager applies it to the receiver name.
_QUOTED_META = re.compile(r"\\([\\.+*?()|\[\]{}^$])")

_VALUE_IN_STRING = re.compile(r"value=([-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+))")

Labels = dict[StrictStr, StrictStr]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _AmAlert(_Payload):
    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    startsAt: AwareDatetime
    endsAt: AwareDatetime | None = None
    generatorURL: StrictStr | None = None
    fingerprint: StrictStr | None = None


class _GrafanaAlert(_AmAlert):
    values: dict[StrictStr, float | None] | None = None
    valueString: StrictStr | None = None
    silenceURL: StrictStr | None = None
    dashboardURL: StrictStr | None = None
    panelURL: StrictStr | None = None
    imageURL: StrictStr | None = None


class _AmMessage(_Payload):
    version: Literal["4"]
    status: Literal["firing", "resolved"] | None = None
    receiver: StrictStr | None = None
    groupKey: StrictStr | None = None
    truncatedAlerts: Annotated[int, Field(ge=0)] = 0
    alerts: Annotated[list[_AmAlert], Field(max_length=MAX_ALERTS_PER_PAYLOAD)]


class _GrafanaMessage(_Payload):
    version: Literal["1"]
    status: Literal["firing", "resolved"] | None = None
    receiver: StrictStr | None = None
    orgId: int | None = None
    title: StrictStr | None = None
    state: StrictStr | None = None
    message: StrictStr | None = None
    alerts: Annotated[list[_GrafanaAlert], Field(max_length=MAX_ALERTS_PER_PAYLOAD)]


@dataclass(frozen=True)
class IncomingAlert:
    """One foreign alert, validated and normalised, ready for the store."""

    source: AlertSource
    fingerprint: str
    state: AlertState  # firing or resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str | None
    receiver: str | None
    value: float | None = None

    @property
    def identity(self) -> tuple[str, datetime]:
        return self.fingerprint, self.starts_at


def unquote_receiver(name: str) -> str:
    """Undo Go's regexp.QuoteMeta, which Alertmanager applies to the receiver name."""
    return _QUOTED_META.sub(r"\1", name)


def parse_alertmanager(body: bytes) -> list[IncomingAlert]:
    """Alerts of an Alertmanager webhook message (version 4); IntakeError names the field."""
    message = _validate(_AmMessage, body)
    receiver = unquote_receiver(message.receiver) if message.receiver else None
    return [
        _incoming(AlertSource.ALERTMANAGER, i, alert, receiver, None)
        for i, alert in enumerate(message.alerts)
    ]


def parse_grafana(body: bytes) -> list[IncomingAlert]:
    """Alerts of a Grafana (unified alerting) webhook message, version 1."""
    message = _validate(_GrafanaMessage, body)
    return [
        _incoming(AlertSource.GRAFANA, i, alert, message.receiver, _grafana_value(alert))
        for i, alert in enumerate(message.alerts)
    ]


def _grafana_value(alert: _GrafanaAlert) -> float | None:
    # Grafana names queries and expressions A, B, C...; the reduced value comes before the
    # threshold condition (which is 0 or 1), so the first numeric value in key order is the
    # one worth showing.
    for key in sorted(alert.values or {}):
        value = (alert.values or {})[key]
        if value is not None:
            return value
    # Older Grafana versions send only valueString: "[ metric='' labels={} value=14151.3 ]"
    found = _VALUE_IN_STRING.search(alert.valueString or "")
    return float(found.group(1)) if found else None


def _incoming(
    source: AlertSource,
    index: int,
    alert: _AmAlert,
    receiver: str | None,
    value: float | None,
) -> IncomingAlert:
    fp = alert.fingerprint
    if fp is None or fp == "":
        fp = fingerprint(alert.labels)
    elif not _FINGERPRINT.match(fp):
        raise IntakeError(
            f"alerts[{index}].fingerprint: {fp[:40]!r} is not 16 lower-case hex digits",
            field=f"alerts[{index}].fingerprint",
        )
    starts_at = alert.startsAt.astimezone(UTC)
    if starts_at.year <= _GO_ZERO_YEAR:
        raise IntakeError(
            f"alerts[{index}].startsAt: the zero time is not a start time",
            field=f"alerts[{index}].startsAt",
        )
    ends_at = alert.endsAt
    if ends_at is not None and ends_at.year <= _GO_ZERO_YEAR:
        ends_at = None  # "0001-01-01T00:00:00Z": still open
    return IncomingAlert(
        source=source,
        fingerprint=fp,
        state=AlertState(alert.status),
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        starts_at=starts_at,
        ends_at=ends_at.astimezone(UTC) if ends_at is not None else None,
        generator_url=alert.generatorURL or None,
        receiver=receiver[:255] if receiver else None,
        value=value,
    )


def _validate(model: type[_AmMessage] | type[_GrafanaMessage], body: bytes) -> Any:
    if len(body) > MAX_INTAKE_BYTES:
        raise IntakeError(
            f"the body is {len(body)} bytes; the limit is {MAX_INTAKE_BYTES}", status=413
        )
    try:
        message = model.model_validate_json(body)
    except ValidationError as exc:
        raise IntakeError(_describe(exc.errors(include_url=False)), field=None) from None
    if b"\\u0000" in body:  # JSON can carry NUL only escaped; cheap test before the search
        _refuse_nul(message)
    return message


def _refuse_nul(message: _AmMessage | _GrafanaMessage) -> None:
    """PostgreSQL text cannot hold NUL: name the first string that has one (a 400, not a 500)."""
    places: list[tuple[str, str | None]] = [("receiver", message.receiver)]
    for i, alert in enumerate(message.alerts):
        for kind, mapping in (("labels", alert.labels), ("annotations", alert.annotations)):
            places += [(f"alerts[{i}].{kind}.{k}", f"{k}{v}") for k, v in mapping.items()]
        places.append((f"alerts[{i}].generatorURL", alert.generatorURL))
    for where, value in places:
        if value is not None and "\x00" in value:
            raise IntakeError(f"{where}: contains a NUL character (\\u0000)", field=where)


def _describe(errors: Sequence[Any]) -> str:
    """A message naming the first problem's place: `alerts[2].startsAt: field required`."""
    first = errors[0]
    if first["type"] == "json_invalid":
        return f"the body is not valid JSON: {first.get('ctx', {}).get('error', first['msg'])}"
    if first["type"] == "model_type" and not first["loc"]:
        return "the body must be a JSON object"
    where = _location(first["loc"])
    if first["type"] == "missing":
        problem = "missing field"
    else:
        problem = first["msg"][0].lower() + first["msg"][1:]
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{where}: {problem}{more}"


def _location(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"
