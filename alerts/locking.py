"""Taking SQLite's write lock at the start of a read-then-write transaction.

On SQLite (WAL) a transaction that reads and then writes cannot upgrade its lock once
another connection has committed since its read: it fails at once with "database is
locked", without waiting for the busy timeout. A first statement that writes nothing but
needs the write lock (an UPDATE matching no row) makes the transaction wait its turn
instead. PostgreSQL locks rows and needs none of this.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session


def begin_write(session: Session) -> None:
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE receiver_state SET name = name WHERE 1 = 0"))
