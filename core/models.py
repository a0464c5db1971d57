"""Tables of the core package: users and API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2}[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


class Scope(StrEnum):
    """What an API token may do: read data, write data (ingest, change), or administer."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class User(SQLModel, table=True):
    __tablename__ = "user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(80), unique=True, nullable=False))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_login_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(80), unique=True, nullable=False))
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    prefix: str = Field(sa_column=Column(String(16), nullable=False))
    scopes: str = Field(sa_column=Column(String(80), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))

    @property
    def scope_set(self) -> frozenset[Scope]:
        return frozenset(Scope(s) for s in self.scopes.split(",") if s)
