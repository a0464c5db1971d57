"""Exception tree of the collector package.

CollectorError
├── ParseError          an exposition is malformed (carries the line number and the reason)
├── ScrapeConfigError   the scrape_configs section (or a file_sd file) cannot be used
├── ScrapeError         one scrape failed: connection, timeout, HTTP status, body/sample limit
├── SelectorError       a series selector (`name{a="x"}`) is malformed
├── ServiceConfigError  the services or slos section cannot be used (names file, entry, problem)
└── TargetError         a target cannot be created or changed (bad URL, bad value)
    ├── TargetConflict  another target has this (job, url), or the config file owns it
    └── TargetNotFound  no target has this id
"""

from __future__ import annotations


class CollectorError(Exception):
    """Base of every error raised by the collector package."""


class ParseError(CollectorError):
    """A malformed exposition; `line` is 1-based (0 when the problem is not on one line)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}" if line else reason)
        self.line = line
        self.reason = reason


class ScrapeConfigError(CollectorError):
    """The scrape configuration cannot be used; the message names file, job and problem."""


class ScrapeError(CollectorError):
    """One scrape of one target failed; the message is what the targets page shows."""


class SelectorError(CollectorError):
    """A series selector cannot be parsed; the message says where and why."""


class ServiceConfigError(CollectorError):
    """The services/slos configuration cannot be used; the message names where and why."""


class TargetError(CollectorError):
    """A target cannot be created or changed as asked."""


class TargetConflict(TargetError):
    """The change clashes with another target or with the config file that owns this one."""


class TargetNotFound(TargetError):
    """No target has the given id."""
