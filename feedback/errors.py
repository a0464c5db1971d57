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
└── SourceError        an outside source (forum, feed) failed; subclasses per source kind
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
