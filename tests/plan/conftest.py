"""Factories for the plan tests: rows of the other areas' tables, inserted directly."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import count

import pytest
from sqlmodel import Session

from alerts.models import Alert
from feedback.analysis_models import Theme
from feedback.models import Feedback
from plan.config import PlanConfig

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_seq = count(1)


@pytest.fixture
def cfg() -> PlanConfig:
    return PlanConfig()


@pytest.fixture
def make_alert(session: Session) -> Callable[..., Alert]:
    def make(
        alertname: str = "HighErrorRate",
        service: str = "webshop",
        state: str = "firing",
        severity: str = "critical",
        fired_at: datetime = NOW,
        extra_labels: dict[str, str] | None = None,
        source: str = "own",
    ) -> Alert:
        n = next(_seq)
        labels = {"alertname": alertname, "service": service, "severity": severity, "n": str(n)}
        labels.update(extra_labels or {})
        alert = Alert(
            fingerprint=f"{n:016x}",
            source=source,
            state=state,
            alertname=alertname,
            service=service,
            labels=json.dumps(labels),
            annotations=json.dumps({"summary": f"{alertname} on {service}"}),
            value=0.12,
            starts_at=fired_at,
            fired_at=fired_at if state != "pending" else None,
            resolved_at=fired_at if state == "resolved" else None,
            last_seen_at=fired_at,
        )
        session.add(alert)
        session.commit()
        return alert

    return make


@pytest.fixture
def make_theme(session: Session) -> Callable[..., Theme]:
    def make(label: str = "checkout times out", service: str | None = "webshop") -> Theme:
        theme = Theme(
            label=label,
            top_terms=json.dumps(label.split()),
            size=0,
            service=service,
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(theme)
        session.commit()
        return theme

    return make


@pytest.fixture
def make_feedback(session: Session) -> Callable[..., Feedback]:
    def make(
        text: str = "checkout times out again",
        theme: Theme | None = None,
        email: str | None = None,
        sentiment: float = -0.6,
        created_at: datetime = NOW,
        service: str | None = "webshop",
        spam: bool = False,
        urgent: bool = False,
    ) -> Feedback:
        n = next(_seq)
        label = "negative" if sentiment < -0.05 else "positive" if sentiment > 0.05 else "neutral"
        fb = Feedback(
            source="form",
            kind="form",
            external_id=f"fb-{n}",
            email=email,
            text=text,
            created_at=created_at,
            received_at=created_at,
            service=service,
            sentiment=sentiment,
            sentiment_label=label,
            urgent=urgent,
            theme_id=theme.id if theme else None,
            spam=spam,
            content_hash=f"{n:064x}",
        )
        session.add(fb)
        session.commit()
        return fb

    return make
