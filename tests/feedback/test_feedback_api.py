"""The feedback API: posting single items and batches, clear 400s, listing with filters."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, select

from core.models import Scope
from feedback.analysis import Analyser
from feedback.ingest import NewFeedback, ingest
from feedback.models import Feedback, FeedbackKind


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_single_item_is_stored_and_a_repeat_is_a_duplicate(client, engine, make_token):
    headers = _auth(make_token())
    item = {
        "text": "The checkout times out. Mail me at bob@example.com",
        "source": "app",
        "external_id": "t-1",
        "url": "https://app.example.com/t/1",
        "created_at": "2026-03-02T09:14:03+01:00",
        "rating": 2,
    }
    first = client.post("/api/v1/feedback", json=item, headers=headers)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["added"] == 1 and body["items"][0]["status"] == "added"
    again = client.post("/api/v1/feedback", json=item, headers=headers)
    assert again.get_json()["items"][0] == {
        "index": 0,
        "id": None,
        "external_id": "t-1",
        "status": "duplicate",
    }
    with Session(engine) as s:
        [stored] = s.exec(select(Feedback)).all()
    assert stored.kind == "api" and stored.source == "app"
    assert stored.created_at.isoformat() == "2026-03-02T08:14:03+00:00"
    assert "bob@example.com" not in stored.text  # personal data redacted by the analyser


def test_a_batch_without_ids_is_idempotent(client, engine, make_token):
    headers = _auth(make_token())
    batch = [{"text": "Love the new dashboard"}, {"text": "Exports are slow", "service": "api"}]
    assert client.post("/api/v1/feedback", json=batch, headers=headers).get_json()["added"] == 2
    second = client.post("/api/v1/feedback", json=batch, headers=headers).get_json()
    assert (second["added"], second["duplicates"]) == (0, 2)


def test_bad_items_get_a_400_naming_item_and_field_and_nothing_is_stored(
    client, engine, make_token
):
    headers = _auth(make_token())
    batch = [
        {"text": "fine"},
        {"text": "", "rating": "five"},
        {"text": "x", "created_at": "2026-03-02 10:00", "colour": "red", "source": "form"},
    ]
    response = client.post("/api/v1/feedback", json=batch, headers=headers)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid"
    found = {(p["index"], p["field"]) for p in body["items"]}
    assert found == {(1, "text"), (1, "rating"), (2, "created_at"), (2, "colour"), (2, "source")}
    assert "has no time zone" in next(p["message"] for p in body["items"] if p["index"] == 2
                                      and p["field"] == "created_at")  # fmt: skip
    with Session(engine) as s:
        assert s.exec(select(Feedback)).all() == []


def test_posting_needs_the_write_scope_and_json(client, make_token):
    read_only = _auth(make_token("reader", (Scope.READ,)))
    assert (
        client.post("/api/v1/feedback", json={"text": "hi"}, headers=read_only).status_code == 403
    )
    writer = _auth(make_token("writer"))
    not_json = client.post("/api/v1/feedback", data="text=hi", headers=writer)
    assert not_json.status_code == 415
    assert client.post("/api/v1/feedback", json={"text": "hi"}).status_code == 401


def test_listing_filters_by_service_source_and_since(client, make_token):
    headers = _auth(make_token())
    batch = [
        {"text": "old checkout bug", "service": "shop", "created_at": "2026-01-01T00:00:00Z"},
        {"text": "new checkout bug", "service": "shop", "created_at": "2026-03-01T00:00:00Z"},
        {"text": "forum login", "source": "forum", "created_at": "2026-03-02T00:00:00Z"},
    ]
    client.post("/api/v1/feedback", json=batch, headers=headers)
    shop = client.get("/api/v1/feedback?service=shop", headers=headers).get_json()
    assert [i["text"] for i in shop["items"]] == ["new checkout bug", "old checkout bug"]
    recent = client.get(
        "/api/v1/feedback?service=shop&since=2026-02-01T00:00:00Z", headers=headers
    ).get_json()
    assert [i["text"] for i in recent["items"]] == ["new checkout bug"]
    forum = client.get("/api/v1/feedback?source=forum", headers=headers).get_json()
    assert forum["total"] == 1 and forum["items"][0]["source"] == "forum"
    bad = client.get("/api/v1/feedback?since=yesterday", headers=headers)
    assert bad.status_code == 400 and "since:" in bad.get_json()["message"]
    assert client.get("/api/v1/feedback?limit=0", headers=headers).status_code == 400


def test_both_operations_are_in_the_openapi_document(client, make_token):
    doc = client.get("/api/openapi.json", headers=_auth(make_token())).get_json()
    assert set(doc["paths"]["/api/v1/feedback"]) == {"get", "post"}


def test_ingest_reports_invalid_items_and_stores_the_rest(session):
    items = [
        NewFeedback("app", FeedbackKind.API, "fine", external_id="1"),
        NewFeedback("app", FeedbackKind.API, "   ", external_id="2"),
        NewFeedback("app", FeedbackKind.API, "naive", created_at=datetime(2026, 3, 1)),
        NewFeedback("app", FeedbackKind.API, "fine", external_id="1"),  # same batch, same id
    ]
    result = ingest(session, items, datetime(2026, 3, 2, tzinfo=UTC), Analyser())
    session.commit()
    assert [(e.index, e.reason) for e in result.errors] == [
        (1, "text is empty"),
        (2, "created_at has no time zone"),
    ]
    assert (result.added, result.duplicates) == (1, 1)
    assert len(session.exec(select(Feedback)).all()) == 1
