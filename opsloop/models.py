"""Every table of every area, imported so that SQLModel.metadata is complete."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlmodel import SQLModel

import alerts.models  # noqa: F401
import alerts.notification_models  # noqa: F401
import collector.models  # noqa: F401
import core.models  # noqa: F401
import feedback.analysis_models  # noqa: F401
import feedback.models  # noqa: F401
import plan.models  # noqa: F401


def all_metadata() -> MetaData:
    return SQLModel.metadata
