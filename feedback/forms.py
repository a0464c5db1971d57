"""Validation of what people type into the public feedback form (pure: no I/O).

Every mistake yields one message per field, worded for the person at the keyboard, so the
page can show it next to the field. The honeypot is a field people never see: a value in
it means a bot filled the form.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from feedback.errors import ValidationError

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
