"""Exception tree of the feedback package.

FeedbackError
├── ValidationError    submitted feedback or a survey answer is unusable; `.errors` maps
│                      each field name to a message meant for the person who sent it
├── CsvImportError     a CSV file or one of its rows cannot be imported; `.row` is the
│   │                  1-based line number in the file (None for the whole file)
│   └── CsvLayoutError the file as a whole is unusable (missing column, unknown layout):
│                      nothing of it is stored
├── SurveyError        a survey definition is invalid, or a survey is unknown / closed
├── FeedbackConfigError the `feedback:` section of the config file is malformed
├── SourceError        an outside source (forum, feed) failed; subclasses per source kind
│   ├── SourceUnavailable  the source cannot be reached or answered an HTTP error
│   ├── RateLimited        the source answered 429; `.retry_after_s` says how long to wait
│   └── SourcePayloadError the source answered something that cannot be read
├── WebhookError       a webhook delivery is refused
│   ├── UnknownSourceError   no configured source of that name and type (HTTP 404)
│   └── SignatureError       missing or wrong signature (HTTP 401)
└── ThemeError         a theme or merge operation is impossible (unknown id, wrong state)
"""

from __future__ import annotations

from collections.abc import Mapping


class FeedbackError(Exception):
    """Base of every error raised by the feedback package."""


class ValidationError(FeedbackError):
    """One message per offending field, worded for the person who filled the form."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in self.errors.items()))


class CsvImportError(FeedbackError):
    """A row (or the file, when `row` is None) that cannot be imported, and why."""

    def __init__(self, reason: str, row: int | None = None) -> None:
        self.reason = reason
        self.row = row
        super().__init__(f"row {row}: {reason}" if row is not None else reason)


class CsvLayoutError(CsvImportError):
    """The file cannot be imported at all (e.g. a required column is missing)."""


class SurveyError(FeedbackError):
    """A survey definition is invalid, or the survey asked for is unknown or closed."""


class FeedbackConfigError(FeedbackError):
    """The feedback section of the config file cannot be used; the message says where."""


class SourceError(FeedbackError):
    """An outside feedback source failed (subclasses say which kind and whether to retry)."""


class SourceUnavailable(SourceError):
    """The source could not be reached, or answered with an HTTP error status."""


class RateLimited(SourceError):
    """The source asked us to slow down (HTTP 429); poll again after `retry_after_s`."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SourcePayloadError(SourceError):
    """The source's answer is not what its API promises (bad JSON, missing fields)."""


class WebhookError(FeedbackError):
    """A webhook delivery that is refused."""


class UnknownSourceError(WebhookError):
    """No configured source of this name accepts webhooks."""


class SignatureError(WebhookError):
    """The delivery's signature is missing or does not match the shared secret."""


class ThemeError(FeedbackError):
    """A theme or merge operation that cannot be done (unknown id, wrong state)."""
