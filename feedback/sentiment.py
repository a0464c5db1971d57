"""Sentiment of a post: VADER plus a domain lexicon of software-trouble phrases.

VADER (vaderSentiment) ships its lexicon inside the package, so nothing is downloaded at run
time, and it is tuned for short social-media text, which is what forum posts and survey
answers are. Its lexicon knows single words only; a domain phrase such as "times out" or
"can't log in" is rewritten into one joined token ("times_out") before scoring, and that
token is added to the analyser's own copy of the lexicon with the configured valence. This
keeps VADER's rules (negation, intensifiers, "but", capitals, exclamation marks) working on
the phrase as if it were one word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from feedback.errors import FeedbackConfigError
from feedback.models import Sentiment

# Valences on VADER's scale (-4 .. +4). Phrases are matched case-insensitively with any
# whitespace between words; apostrophes may be straight, curly or missing.
DEFAULT_LEXICON: dict[str, float] = {
    "times out": -2.5,
    "timed out": -2.5,
    "timing out": -2.5,
    "time out": -2.0,
    "can't log in": -2.8,
    "cannot log in": -2.8,
    "can't login": -2.8,
    "unable to log in": -2.8,
    "lost my data": -3.2,
    "data loss": -3.0,
    "doesn't work": -2.3,
    "does not work": -2.3,
    "not working": -2.3,
    "stopped working": -2.5,
    "error 500": -2.3,
    "500 error": -2.3,
    "keeps crashing": -2.8,
    "page won't load": -2.5,
    "slow": -1.5,
    "sluggish": -1.6,
    "laggy": -1.7,
    "unusable": -2.8,
    "outage": -2.5,
    "downtime": -2.0,
    "crashes": -2.2,
    "crashed": -2.2,
    "buggy": -2.0,
    "unresponsive": -2.0,
    "snappy": 1.8,
    "intuitive": 1.8,
    "seamless": 1.9,
    "fixed": 1.2,
}

# VADER's own convention for the compound score (see its README).
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05
_APOSTROPHE = "['\u2019]?"


def label_for(score: float) -> Sentiment:
    if score >= POSITIVE_THRESHOLD:
        return Sentiment.POSITIVE
    if score <= NEGATIVE_THRESHOLD:
        return Sentiment.NEGATIVE
    return Sentiment.NEUTRAL


class SentimentScorer:
    """Scores text from -1 (very negative) to +1 (very positive)."""

    def __init__(self, extra_lexicon: Mapping[str, float] | None = None) -> None:
        self._vader = SentimentIntensityAnalyzer()
        # a private copy: each scorer may carry a different domain lexicon
        self._vader.lexicon = dict(self._vader.lexicon)
        lexicon = {**DEFAULT_LEXICON, **_checked(extra_lexicon or {})}
        phrases: dict[str, str] = {}
        for term, valence in lexicon.items():
            words = term.lower().split()
            if len(words) == 1:
                self._vader.lexicon[words[0]] = valence
                continue
            token = "_".join(re.sub(r"\W", "", w) for w in words)
            self._vader.lexicon[token] = valence
            phrases[term.lower()] = token
        self._phrase_tokens = phrases
        self._phrases = phrase_pattern(list(phrases)) if phrases else None

    def score(self, text: str) -> float:
        if self._phrases is not None:
            text = self._phrases.sub(self._token_for, text)
        return float(self._vader.polarity_scores(text)["compound"])

    def _token_for(self, match: re.Match[str]) -> str:
        key = " ".join(re.sub(r"['\u2019]", "'", match.group(0).lower()).split())
        token = self._phrase_tokens.get(key)
        if token is None:  # matched with a missing apostrophe: find the phrase it stands for
            bare = key.replace("'", "")
            token = next(t for p, t in self._phrase_tokens.items() if p.replace("'", "") == bare)
        return f" {token} "


def phrase_pattern(phrases: list[str]) -> re.Pattern[str]:
    """One regex matching any phrase as whole words, any spacing, apostrophes optional."""
    alternatives = []
    # longest first, so that "can't log in" wins over a shorter phrase inside it
    for phrase in sorted(phrases, key=len, reverse=True):
        words = [re.escape(w).replace("'", _APOSTROPHE) for w in phrase.split()]
        alternatives.append(r"\s+".join(words))
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def _checked(lexicon: Mapping[str, float]) -> dict[str, float]:
    checked: dict[str, float] = {}
    for term, valence in lexicon.items():
        if not isinstance(term, str) or not term.strip():
            raise FeedbackConfigError(f"lexicon: {term!r} is not a word or phrase")
        if isinstance(valence, bool) or not isinstance(valence, int | float):
            raise FeedbackConfigError(f"lexicon: {term!r} needs a number from -4 to 4")
        if not -4 <= valence <= 4:
            raise FeedbackConfigError(f"lexicon: {term!r} = {valence} is outside -4 .. 4")
        checked[term.strip()] = float(valence)
    return checked
