"""The analyser as ingest uses it: one call cleans, redacts, scores, flags and tags."""

from pathlib import Path

import pytest

from core.config import parse_config
from feedback.analysis import Analyser, clean_text
from feedback.errors import FeedbackConfigError
from feedback.models import Sentiment

CONFIG = """
feedback:
  analysis:
    phone_region: US
    lexicon: {"checkout spinner": -3}
    services: {webshop: [checkout, cart]}
    urgent_terms: ["refund now"]
"""


def test_one_call_does_everything():
    analyser = Analyser.from_config(parse_config(CONFIG))
    result = analyser.analyse(
        "  The checkout\u200b spinner again!!\r\n\r\n\r\n\r\nMail me: a@b.com or +1 415 555 2671  "
    )
    assert result.text == "The checkout spinner again!!\n\nMail me: [email] or [phone]"
    assert result.sentiment_label is Sentiment.NEGATIVE and -1 <= result.sentiment < 0
    assert result.service == "webshop"
    assert not result.urgent


@pytest.mark.parametrize(
    ("text", "urgent"),
    [
        ("We cant log in since this morning", True),
        ("Production down, customers see 500s", True),
        ("I was charged twice", True),
        ("refund now please", True),  # from config
        ("Dark mode would be nice", False),
        ("Security settings page has a typo", True),  # a word list errs on the side of caution
    ],
)
def test_urgency(text, urgent):
    assert Analyser.from_config(parse_config(CONFIG)).analyse(text).urgent is urgent


def test_redaction_can_be_turned_off_in_config():
    config = parse_config("feedback:\n  analysis:\n    redact_personal_data: false\n")
    assert Analyser.from_config(config).analyse("mail a@b.com").text == "mail a@b.com"


def test_no_config_gives_the_defaults():
    result = Analyser.from_config(None).analyse("mail a@b.com, the export times out")
    assert result.text == "mail [email], the export times out"
    assert result.sentiment_label is Sentiment.NEGATIVE and result.service is None


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("feedback:\n  analysis:\n    colour: red\n", "unknown key"),
        ("feedback:\n  analysis:\n    redact_personal_data: maybe\n", "true or false"),
        ("feedback:\n  analysis:\n    lexicon: [a]\n", "lexicon must be a mapping"),
        ("feedback:\n  analysis:\n    urgent_terms: nope\n", "urgent_terms"),
        ("feedback:\n  analysis:\n    lexicon: {slow: 99}\n", "outside -4 .. 4"),
    ],
)
def test_config_mistakes_name_the_file_and_the_place(yaml, message):
    with pytest.raises(FeedbackConfigError, match=message) as info:
        Analyser.from_config(parse_config(yaml, Path("/etc/opsloop.yaml")))
    assert str(info.value).startswith("/etc/opsloop.yaml: feedback.analysis: ")


def test_cleaning_keeps_paragraphs_and_drops_control_characters():
    assert clean_text("a\x00b\tc  d\n\n\n\ne") == "ab c d\n\ne"
