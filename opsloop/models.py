"""Every table of every area, imported so that SQLModel.metadata is complete."""

from __future__ import annotations

from types import ModuleType

from sqlalchemy import MetaData
from sqlmodel import SQLModel

import alerts.models
import alerts.notification_models
import collector.models
import core.models
import feedback.analysis_models
import feedback.models
import plan.models

MODEL_MODULES: tuple[ModuleType, ...] = (
    core.models,
    collector.models,
    alerts.models,
    alerts.notification_models,
    feedback.models,
    feedback.analysis_models,
    plan.models,
)


def all_metadata() -> MetaData:
    return SQLModel.metadata
