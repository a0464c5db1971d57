"""Exception tree of the alerts package.

AlertsError
├── IntakeError        a foreign alert payload (Alertmanager, Grafana) cannot be used;
│                      carries the HTTP status to answer with (400, 413) and a message
│                      naming the field and the alert index
├── SilenceError       a silence is invalid (bad matcher, regex, time range) or unknown
├── AlertNotFound      no stored alert with that id
├── RuleError          a rule file or rule is invalid (the message names the file and line)
│   └── TemplateError  a label/annotation template cannot be parsed or rendered
└── NotifyError        a delivery to a receiver failed; `permanent` says whether to retry
"""

from __future__ import annotations


class AlertsError(Exception):
    """Base of every error raised by the alerts package."""


class IntakeError(AlertsError):
    """A posted alert payload is refused; `status` is the HTTP-ish status to answer with."""

    def __init__(self, message: str, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


class SilenceError(AlertsError):
    """A silence cannot be created or changed; `field` names the offending input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class AlertNotFound(AlertsError):
    """No stored alert (or silence) with the requested id."""


class RuleError(AlertsError):
    """A rule file or a single rule is invalid; the message names the file and line."""


class TemplateError(RuleError):
    """A `{{ ... }}` template of a rule is malformed or fails to render."""


class NotifyError(AlertsError):
    """A notification could not be delivered.

    `permanent` is True when retrying cannot help (a 4xx answer, a bad URL): the attempt is
    marked permanent and shown on the receiver; otherwise it is retried with backoff.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
