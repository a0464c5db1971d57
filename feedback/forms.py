"""Validation of submitted feedback (pure: no I/O): the public form and API items.

Every mistake yields one message per field, worded for the person at the keyboard, so the
page can show it next to the field. The honeypot is a field people never see: a value in
it means a bot filled the form.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feedback.errors import ValidationError
from feedback.ingest import MAX_TEXT_CHARS, NewFeedback
from feedback.models import FeedbackKind

MAX_MESSAGE_CHARS = 5000
MIN_MESSAGE_CHARS = 3
MAX_EMAIL_CHARS = 254  # RFC 5321 path limit
RATING_MIN = 1
RATING_MAX = 5
HONEYPOT_FIELD = "website"

# Deliberately loose: one @, no spaces, a dot in the domain. Full RFC 5322 parsing
# refuses real addresses more often than it catches typos.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class FormSubmission:
    message: str
    email: str | None
    service: str | None
    rating: int | None


def is_bot(data: Mapping[str, str]) -> bool:
    """True when the hidden honeypot field carries a value."""
    return bool((data.get(HONEYPOT_FIELD) or "").strip())


def validate_email(raw: str) -> str | None:
    """The trimmed address, None when blank; raises ValueError with a message when bad."""
    value = raw.strip()
    if not value:
        return None
    if len(value) > MAX_EMAIL_CHARS:
        raise ValueError(f"An e-mail address has at most {MAX_EMAIL_CHARS} characters.")
    if not _EMAIL.match(value):
        raise ValueError(f"“{value[:60]}” is not an e-mail address (like name@example.com).")
    return value


def validate_form(data: Mapping[str, str], services: Collection[str]) -> FormSubmission:
    """The cleaned submission, or ValidationError with a message per bad field."""
    errors: dict[str, str] = {}
    message = (data.get("message") or "").strip()
    if not message:
        errors["message"] = "Please write a message."
    elif len(message) < MIN_MESSAGE_CHARS:
        errors["message"] = f"The message needs at least {MIN_MESSAGE_CHARS} characters."
    elif len(message) > MAX_MESSAGE_CHARS:
        errors["message"] = (
            f"The message has {len(message)} characters; the limit is {MAX_MESSAGE_CHARS}."
        )
    email: str | None = None
    try:
        email = validate_email(data.get("email") or "")
    except ValueError as exc:
        errors["email"] = str(exc)
    service = (data.get("service") or "").strip() or None
    if service is not None and service not in services:
        errors["service"] = "Choose a service from the list (or leave it empty)."
    rating = None
    try:
        rating = parse_rating(data.get("rating") or "")
    except ValueError as exc:
        errors["rating"] = str(exc)
    if errors:
        raise ValidationError(errors)
    return FormSubmission(message=message, email=email, service=service, rating=rating)


def parse_rating(raw: str, low: int = RATING_MIN, high: int = RATING_MAX) -> int | None:
    """A whole number in low..high, None when blank; ValueError with a message otherwise."""
    value = raw.strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"The rating must be a whole number from {low} to {high}.") from None
    if not low <= number <= high:
        raise ValueError(f"The rating must be from {low} to {high}; {number} is outside.")
    return number


API_FIELDS = {
    "text",
    "source",
    "external_id",
    "author",
    "email",
    "rating",
    "url",
    "created_at",
    "service",
}
API_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,79}$")
RESERVED_SOURCES = ("form", "survey:")


def parse_api_item(raw: object) -> NewFeedback:
    """One item of `POST /api/v1/feedback` as NewFeedback; ValidationError names each bad field."""
    if not isinstance(raw, Mapping):
        raise ValidationError({"item": "must be a JSON object"})
    errors = {
        name: f"unknown field; known: {', '.join(sorted(API_FIELDS))}"
        for name in sorted(set(raw) - API_FIELDS)
    }
    values: dict[str, Any] = {}
    for name, check in _API_CHECKS.items():
        try:
            values[name] = check(raw.get(name))
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise ValidationError(errors)
    return NewFeedback(kind=FeedbackKind.API, **values)


def _api_text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("required: a non-empty string")
    if len(value) > MAX_TEXT_CHARS:
        raise ValueError(f"longer than {MAX_TEXT_CHARS} characters")
    return value


def _api_source(value: object) -> str:
    if value is None:
        return "api"
    if not isinstance(value, str) or not API_SOURCE.match(value):
        raise ValueError("1-80 of a-z, 0-9, _ . : - (starting with a letter or digit)")
    if value == "form" or value.startswith("survey:"):
        raise ValueError(f"{value!r} is reserved for the feedback form and surveys")
    return value


def _api_string(limit: int) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= limit):
            raise ValueError(f"must be a string of 1 to {limit} characters")
        return value

    return check


def _api_url(value: object) -> str | None:
    url = _api_string(2048)(value)
    if url is not None and not url.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return url


def _api_email(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError("must be a string")
    return validate_email(value) if value is not None else None


def _api_rating(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("must be a number")
    return float(value)


def parse_timestamp(raw: object) -> datetime | None:
    """An ISO 8601 time with a time zone (or None); ValueError with a message otherwise."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise ValueError("must be an ISO 8601 string such as 2026-03-02T09:14:03Z")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{raw!r} is not an ISO 8601 time such as 2026-03-02T09:14:03Z") from None
    if moment.tzinfo is None:
        raise ValueError(f"{raw!r} has no time zone; add Z or an offset such as +02:00")
    return moment.astimezone(UTC)


_API_CHECKS: dict[str, Callable[[object], Any]] = {
    "text": _api_text,
    "source": _api_source,
    "external_id": _api_string(255),
    "author": _api_string(255),
    "email": _api_email,
    "rating": _api_rating,
    "url": _api_url,
    "created_at": parse_timestamp,
    "service": _api_string(120),
}
