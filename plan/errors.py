"""Exception tree of the plan package.

PlanError
├── PlanConfigError     the `plan` or `exporters` config section is unusable
│                       (also a core ConfigError, so the CLI reports it as one)
├── ItemError           a change to items that cannot be made (bad field, bad status)
│   ├── ItemNotFound    an item id that does not exist
│   └── ExportInProgress  another export of the same item to the same target is running
├── DeployError         a deploy marker that cannot be recorded (unknown items, bad fields)
└── ExportError         an export to GitHub / Jira / a webhook failed
                        (`permanent`: a 4xx that retrying will not fix)
"""

from __future__ import annotations

from core.errors import ConfigError


class PlanError(Exception):
    """Base of every error raised by the plan package."""


class PlanConfigError(PlanError, ConfigError):
    """The config file's `plan` or `exporters` section cannot be used; names the place."""


class ItemError(PlanError):
    """A change to one or more items that cannot be made; the message says why."""


class ItemNotFound(ItemError):
    def __init__(self, item_id: int) -> None:
        super().__init__(f"item {item_id} does not exist")
        self.item_id = item_id


class ExportInProgress(ItemError):
    def __init__(self, item_id: int, target: str) -> None:
        super().__init__(
            f"item {item_id} is being exported to {target} right now; try again in a moment"
        )
        self.item_id = item_id
        self.target = target


class DeployError(PlanError):
    """A deploy marker with a problem (missing service, unknown items, ...)."""


class ExportError(PlanError):
    """An export attempt failed; `permanent` when retrying cannot help (HTTP 4xx, config)."""

    def __init__(self, target: str, message: str, *, permanent: bool = False) -> None:
        super().__init__(f"{target}: {message}")
        self.target = target
        self.permanent = permanent
