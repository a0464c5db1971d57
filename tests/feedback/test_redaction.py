"""Personal data redaction: e-mail addresses and phone numbers, and nothing else."""

import pytest

from feedback.errors import FeedbackConfigError
from feedback.redaction import Redactor


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe+shop@example.co.uk please", "write to [email] please"),
        ("Call +44 20 7946 0958 now", "Call [phone] now"),
        ("my number is (415) 555-2671.", "my number is [phone]."),
        ("ring 415.555.2671 or bob@test.io", "ring [phone] or [email]"),
    ],
)
def test_emails_and_phone_numbers_are_replaced(text, expected):
    assert Redactor().redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 2024-01-05 failed",
        "version 1.22.3 broke it",
        "order #12345 is late",
        "it took 1500 ms",
        "ip 10.0.0.1 is down",
        "@channel please look",
    ],
)
def test_dates_versions_and_order_numbers_stay(text):
    assert Redactor().redact(text) == text


def test_a_local_number_needs_the_right_region():
    assert Redactor(phone_region="DE").redact("Ruf an: 030 1234567") == "Ruf an: [phone]"


def test_redaction_can_be_turned_off():
    assert Redactor(enabled=False).redact("jane@example.com") == "jane@example.com"


def test_an_unknown_region_is_a_config_error():
    with pytest.raises(FeedbackConfigError, match="not a known region"):
        Redactor(phone_region="XX")
