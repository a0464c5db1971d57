"""Sentiment: VADER plus domain phrases, extendable from config."""

import pytest

from feedback.errors import FeedbackConfigError
from feedback.models import Sentiment
from feedback.sentiment import SentimentScorer, label_for


@pytest.fixture(scope="module")
def scorer():
    return SentimentScorer()


@pytest.mark.parametrize(
    "text",
    [
        "The export times out",
        "I can't log in",
        "I cant log in",
        "I can\u2019t   log in",
        "Yesterday I lost my data",
        "The page is slow",
    ],
)
def test_domain_trouble_phrases_are_negative(scorer, text):
    assert scorer.score(text) < -0.05
    assert label_for(scorer.score(text)) is Sentiment.NEGATIVE


def test_plain_vader_misses_the_phrases_the_domain_lexicon_catches():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    plain = SentimentIntensityAnalyzer()
    assert plain.polarity_scores("The export times out")["compound"] == 0
    assert SentimentScorer().score("The export times out") < 0


def test_praise_is_positive_and_facts_are_neutral(scorer):
    assert label_for(scorer.score("Love the new dashboard, it is great!")) is Sentiment.POSITIVE
    assert label_for(scorer.score("The invoice has three lines.")) is Sentiment.NEUTRAL


def test_vader_rules_still_apply_around_a_phrase(scorer):
    assert scorer.score("it TIMES OUT!!!") < scorer.score("it times out")
    assert scorer.score("it no longer times out") > scorer.score("it times out")


def test_the_lexicon_is_extended_from_config():
    base = SentimentScorer()
    extended = SentimentScorer({"checkout spinner": -3.0, "buttery": 2.5})
    assert base.score("the checkout spinner again") == 0
    assert extended.score("the checkout spinner again") < -0.3
    assert extended.score("buttery smooth") > base.score("buttery smooth")


@pytest.mark.parametrize(
    ("lexicon", "message"),
    [({"x": 9}, "outside -4 .. 4"), ({"x": "bad"}, "needs a number"), ({" ": 1}, "not a word")],
)
def test_a_bad_lexicon_entry_is_named(lexicon, message):
    with pytest.raises(FeedbackConfigError, match=message):
        SentimentScorer(lexicon)
