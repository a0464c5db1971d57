"""Analysis of one post: clean, redact personal data, score sentiment, flag urgency, tag service.

`Analyser.from_config(raw_config)` builds one analyser per process from the `feedback:
analysis:` part of the config file; `analyse(text, service_hint)` is pure and fast (no
network, no model download), so ingest can call it for every item. Clustering into themes
is separate (feedback/themes.py) because it needs the other posts.

```yaml
feedback:
  analysis:
    redact_personal_data: true      # e-mails and phone numbers become [email] / [phone]
    phone_region: US                # for numbers written without +country
    lexicon: {"checkout fails": -2.5, "love the new": 2.0}   # VADER scale -4 .. 4
    services: {webshop: [checkout, cart, basket, payment]}
    urgent_terms: ["charged twice"]  # added to the built-in list
```
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.config import RawConfig
from feedback.errors import FeedbackConfigError
from feedback.models import Sentiment
from feedback.redaction import Redactor
from feedback.sentiment import SentimentScorer, label_for, phrase_pattern
from feedback.tagging import ServiceTagger

DEFAULT_URGENT_TERMS = (
    "urgent",
    "asap",
    "emergency",
    "critical",
    "outage",
    "is down",
    "site down",
    "everything is down",
    "production down",
    "data loss",
    "lost my data",
    "lost all my",
    "security",
    "vulnerability",
    "breach",
    "hacked",
    "can't log in",
    "cannot log in",
    "locked out",
    "charged twice",
    "double charged",
    "payment failed",
    "can't pay",
    "cannot pay",
)
MAX_TEXT_CHARS = 20_000
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")
_ANALYSIS_KEYS = {"redact_personal_data", "phone_region", "lexicon", "services", "urgent_terms"}


@dataclass(frozen=True)
class Analysis:
    text: str  # cleaned, personal data redacted unless turned off
    sentiment: float  # -1 .. 1 (VADER compound)
    sentiment_label: Sentiment
    urgent: bool
    service: str | None


def clean_text(text: str) -> str:
    """Normalise Unicode, drop control and zero-width characters, tidy whitespace."""
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isprintable():
        text = "".join(c for c in text if c in "\n\t" or c.isprintable())
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    return text[:MAX_TEXT_CHARS]


class Analyser:
    def __init__(
        self,
        *,
        redactor: Redactor | None = None,
        scorer: SentimentScorer | None = None,
        tagger: ServiceTagger | None = None,
        urgent_terms: Iterable[str] = (),
    ) -> None:
        self.redactor = redactor or Redactor()
        self.scorer = scorer or SentimentScorer()
        self.tagger = tagger or ServiceTagger()
        self._urgent = phrase_pattern([*DEFAULT_URGENT_TERMS, *(t.lower() for t in urgent_terms)])

    @classmethod
    def from_config(cls, raw_config: RawConfig | None) -> Analyser:
        where = f"{raw_config.path}: " if raw_config is not None and raw_config.path else ""
        section = raw_config.section("feedback") if raw_config is not None else None
        try:
            return cls._from_section(_analysis_section(section))
        except FeedbackConfigError as exc:
            raise FeedbackConfigError(f"{where}feedback.analysis: {exc}") from exc

    @classmethod
    def _from_section(cls, conf: Mapping[str, Any]) -> Analyser:
        redact = conf.get("redact_personal_data", True)
        if not isinstance(redact, bool):
            raise FeedbackConfigError("redact_personal_data must be true or false")
        region = conf.get("phone_region", "US")
        if not isinstance(region, str):
            raise FeedbackConfigError("phone_region must be a region code such as US or DE")
        lexicon = _mapping(conf, "lexicon")
        services = _mapping(conf, "services")
        urgent = conf.get("urgent_terms", [])
        if not isinstance(urgent, list) or not all(
            isinstance(t, str) and t.strip() for t in urgent
        ):
            raise FeedbackConfigError("urgent_terms must be a list of words or phrases")
        return cls(
            redactor=Redactor(enabled=redact, phone_region=region),
            scorer=SentimentScorer(lexicon),
            tagger=ServiceTagger(services),
            urgent_terms=urgent,
        )

    def analyse(self, text: str, service_hint: str | None = None) -> Analysis:
        cleaned = self.redactor.redact(clean_text(text))
        score = self.scorer.score(cleaned)
        return Analysis(
            text=cleaned,
            sentiment=score,
            sentiment_label=label_for(score),
            urgent=self._urgent.search(cleaned) is not None,
            service=self.tagger.tag(cleaned, service_hint),
        )


def _analysis_section(section: object) -> Mapping[str, Any]:
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise FeedbackConfigError("the feedback section must be a mapping")
    conf = section.get("analysis") or {}
    if not isinstance(conf, Mapping):
        raise FeedbackConfigError("must be a mapping")
    unknown = sorted(set(conf) - _ANALYSIS_KEYS)
    if unknown:
        raise FeedbackConfigError(
            f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_ANALYSIS_KEYS))}"
        )
    return conf


def _mapping(conf: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = conf.get(key) or {}
    if not isinstance(value, Mapping):
        raise FeedbackConfigError(f"{key} must be a mapping")
    return value
