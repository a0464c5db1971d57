"""Personal data redaction: e-mail addresses and phone numbers are replaced before storage.

Phone numbers are found by `phonenumbers` (Google's libphonenumber rules), which tells a
phone number from a date, an order number or a version string far better than a regular
expression could. Its matcher is slow next to a regex, so it runs only on text that holds a
run of at least seven digits (with separators) — most posts have none. E-mail addresses are
found with a regular expression: finding them (not validating them) needs nothing more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from feedback.errors import FeedbackConfigError

EMAIL_MARK = "[email]"
PHONE_MARK = "[phone]"

_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?!\w)"
)
# seven digits or more, possibly separated by spaces, dots, dashes, slashes or brackets
_MAYBE_PHONE = re.compile(r"\d(?:[\s().\-/]{0,3}\d){6,}")


@dataclass(frozen=True)
class Redactor:
    """Replaces e-mail addresses and phone numbers; `enabled=False` leaves text untouched."""

    enabled: bool = True
    # Region for numbers written without a +country prefix (ISO 3166 code, e.g. "US", "DE").
    phone_region: str = "US"

    def __post_init__(self) -> None:
        region = self.phone_region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise FeedbackConfigError(
                f"phone_region: {self.phone_region!r} is not a known region code (e.g. US, GB, DE)"
            )

    def redact(self, text: str) -> str:
        if not self.enabled:
            return text
        if "@" in text:
            text = _EMAIL.sub(EMAIL_MARK, text)
        if _MAYBE_PHONE.search(text) is None:
            return text
        return self._redact_phones(text)

    def _redact_phones(self, text: str) -> str:
        matcher = phonenumbers.PhoneNumberMatcher(
            text, self.phone_region.upper(), leniency=phonenumbers.Leniency.POSSIBLE
        )
        parts: list[str] = []
        last = 0
        for match in matcher:
            parts.append(text[last : match.start])
            parts.append(PHONE_MARK)
            last = match.end
        if not parts:
            return text
        parts.append(text[last:])
        return "".join(parts)
