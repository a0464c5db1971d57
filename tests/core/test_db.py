from datetime import UTC, datetime

from sqlmodel import Session, func, select

from core.db import canonical_json, insert_ignore
from core.models import User

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _user(name: str) -> dict:
    return {"name": name, "password_hash": "x", "role": "viewer", "created_at": NOW}


def test_insert_ignore_skips_rows_that_hit_the_unique_key(engine):
    with Session(engine) as session:
        stmt = insert_ignore(session, User, ["name"]).returning(User.id)
        first = session.execute(stmt, [_user("ada"), _user("bob")]).all()
        again = session.execute(stmt, [_user("ada"), _user("cy")]).all()
        session.commit()
        names = session.exec(select(User.name).order_by(User.name)).all()
    assert (len(first), len(again)) == (2, 1)
    assert names == ["ada", "bob", "cy"]


def test_insert_ignore_works_on_a_connection_too(engine):
    with engine.begin() as conn:
        for _ in range(2):
            conn.execute(insert_ignore(conn, User).values(**_user("ada")))
        assert conn.execute(select(func.count()).select_from(User)).scalar() == 1


def test_canonical_json_is_the_same_text_for_the_same_data():
    assert (
        canonical_json({"b": "1", "a": {"z": 1, "y": ["é"]}}) == '{"a":{"y":["é"],"z":1},"b":"1"}'
    )
    assert canonical_json({"a": 1, "b": 2}) == canonical_json({"b": 2, "a": 1})
