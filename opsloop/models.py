"""Every table of every area, imported so that SQLModel.metadata is complete."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlmodel import SQLModel

import core.models  # noqa: F401


def all_metadata() -> MetaData:
    return SQLModel.metadata
