"""Validation of submitted feedback (pure: no I/O): the public form and API items.

Every mistake yields one message per field, worded for the person at the keyboard, so the
page can show it next to the field. The honeypot is a field people never see: a value in
it means a bot filled the form.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

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
    errors: dict[str, str] = {}
    for name in sorted(set(raw) - API_FIELDS):
        errors[name] = f"unknown field; known: {', '.join(sorted(API_FIELDS))}"
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        errors["text"] = "required: a non-empty string"
    elif len(text) > MAX_TEXT_CHARS:
        errors["text"] = f"longer than {MAX_TEXT_CHARS} characters"
    source = raw.get("source", "api")
    if not isinstance(source, str) or not API_SOURCE.match(source):
        errors["source"] = "1-80 of a-z, 0-9, _ . : - (starting with a letter or digit)"
    elif source == "form" or source.startswith("survey:"):
        errors["source"] = f"{source!r} is reserved for the feedback form and surveys"
    strings = {"external_id": 255, "author": 255, "url": 2048, "service": 120}
    values: dict[str, str | None] = {}
    for name, limit in strings.items():
        value = raw.get(name)
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= limit):
            errors[name] = f"must be a string of 1 to {limit} characters"
        values[name] = value if isinstance(value, str) else None
    if values["url"] and not values["url"].startswith(("http://", "https://")):
        errors["url"] = "must be an http:// or https:// URL"
    raw_email = raw.get("email")
    email = None
    if raw_email is not None and not isinstance(raw_email, str):
        errors["email"] = "must be a string"
    elif raw_email is not None:
        try:
            email = validate_email(raw_email)
        except ValueError as exc:
            errors["email"] = str(exc)
    rating = raw.get("rating")
    if rating is not None and (
        isinstance(rating, bool) or not isinstance(rating, int | float) or not math.isfinite(rating)
    ):
        errors["rating"] = "must be a number"
    created_at = None
    try:
        created_at = parse_timestamp(raw.get("created_at"))
    except ValueError as exc:
        errors["created_at"] = str(exc)
    if errors:
        raise ValidationError(errors)
    return NewFeedback(
        source=str(source),
        kind=FeedbackKind.API,
        text=str(text),
        external_id=values["external_id"],
        author=values["author"],
        email=email,
        rating=float(rating) if rating is not None else None,
        url=values["url"],
        created_at=created_at,
        service=values["service"],
    )


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
