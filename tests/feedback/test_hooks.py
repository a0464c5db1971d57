"""The Discourse webhook endpoint: signatures, dedupe, edits, ping, unknown sources."""

import json

import pytest
from sqlmodel import Session, select

from core.config import RawConfig
from feedback.discourse import signature_for
from feedback.models import Feedback
from tests.conftest import fixture_path

SECRET = "my_lovely_secret_for_web_hook"
# discourse/discourse spec/jobs/emit_web_hook_event_spec.rb: this secret signs {"ping":"OK"} so
PING_SIGNATURE = "sha256=162f107f6b5022353274eb1a7197885cfd35744d8d08e5bcea025d309386b7d6"
URL = "/hooks/discourse/forum"


@pytest.fixture
def raw_config():
    return RawConfig(
        data={
            "feedback_sources": [
                {
                    "name": "forum",
                    "type": "discourse",
                    "url": "http://127.0.0.1:9",
                    "webhook_secret": SECRET,
                    "poll_interval": "off",
                },
                {"name": "quiet", "type": "discourse", "url": "http://127.0.0.1:9"},
            ]
        }
    )


def _post_payload(**changes):
    post = json.loads(fixture_path("discourse", "posts_latest.json").read_text())["latest_posts"][0]
    post.update(changes)
    return {"post": post}


def _send(client, payload, *, event="post_created", event_id="1", secret=SECRET, sign=True):
    body = json.dumps(payload).encode()
    headers = {"X-Discourse-Event": event, "X-Discourse-Event-Type": "post"}
    if event_id:
        headers["X-Discourse-Event-Id"] = event_id
    if sign:
        headers["X-Discourse-Event-Signature"] = signature_for(secret, body)
    return client.post(URL, data=body, headers=headers, content_type="application/json")


def _rows(engine):
    with Session(engine) as s:
        return s.exec(select(Feedback)).all()


def test_the_signature_matches_discourses_own_test_vector():
    assert signature_for(SECRET, b'{"ping":"OK"}') == PING_SIGNATURE


def test_a_ping_signed_like_discourse_is_answered(client):
    response = client.post(
        URL,
        data=b'{"ping":"OK"}',
        headers={
            "X-Discourse-Event": "ping",
            "X-Discourse-Event-Id": "9",
            "X-Discourse-Event-Signature": PING_SIGNATURE,
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "pong"


def test_a_signed_post_is_stored_once_even_when_delivered_again(client, engine):
    first = _send(client, _post_payload(raw="The checkout times out", id=501), event_id="11")
    assert first.status_code == 200 and first.get_json()["status"] == "added"
    same_event = _send(client, _post_payload(raw="The checkout times out", id=501), event_id="11")
    assert same_event.get_json()["status"] == "duplicate"
    # a new delivery id for the same post: deduped on the post id
    same_post = _send(client, _post_payload(raw="The checkout times out", id=501), event_id="12")
    assert same_post.get_json()["status"] == "duplicate"
    rows = _rows(engine)
    assert len(rows) == 1
    assert rows[0].external_id == "501" and rows[0].sentiment_label == "negative"


@pytest.mark.parametrize(
    ("secret", "sign", "message"),
    [("wrong-secret", True, "does not match"), (SECRET, False, "missing")],
)
def test_a_wrong_or_missing_signature_is_refused_with_401(client, engine, secret, sign, message):
    response = _send(client, _post_payload(id=777), secret=secret, sign=sign)
    assert response.status_code == 401
    assert message in response.get_json()["message"]
    assert _rows(engine) == []


def test_a_tampered_body_is_refused(client, engine):
    body = json.dumps(_post_payload(id=778)).encode()
    headers = {"X-Discourse-Event-Signature": signature_for(SECRET, body)}
    tampered = body.replace(b"holla", b"HOLLA")
    response = client.post(URL, data=tampered, headers=headers, content_type="application/json")
    assert response.status_code == 401
    assert _rows(engine) == []


def test_an_edit_replaces_the_text_and_analyses_it_again(client, engine):
    _send(client, _post_payload(raw="Love the new checkout, so fast", id=600), event_id="21")
    assert _rows(engine)[0].sentiment_label == "positive"
    edited = _send(
        client,
        _post_payload(raw="Edit: checkout times out, I lost my data", id=600),
        event="post_edited",
        event_id="22",
    )
    assert edited.get_json()["status"] == "updated"
    (row,) = _rows(engine)
    assert row.text == "Edit: checkout times out, I lost my data"
    assert row.sentiment_label == "negative" and row.urgent


def test_cooked_html_is_used_when_raw_is_absent(client, engine):
    payload = _post_payload(id=650, cooked="<p>Cart is <em>empty</em> &amp; broken</p>")
    del payload["post"]["raw"]
    assert _send(client, payload, event_id="30").status_code == 200
    assert _rows(engine)[0].text == "Cart is empty & broken"


def test_unknown_sources_and_sources_without_a_secret_get_404(client):
    body = b'{"ping":"OK"}'
    for name in ("nope", "quiet"):
        response = client.post(
            f"/hooks/discourse/{name}",
            data=body,
            headers={"X-Discourse-Event-Signature": signature_for(SECRET, body)},
            content_type="application/json",
        )
        assert response.status_code == 404


def test_a_signed_body_that_is_not_json_is_a_400(client):
    body = b"not json"
    response = client.post(
        URL, data=body, headers={"X-Discourse-Event-Signature": signature_for(SECRET, body)}
    )
    assert response.status_code == 400
    assert "not JSON" in response.get_json()["message"]


def test_a_forum_added_on_the_settings_page_accepts_signed_webhooks(client, engine):
    from datetime import UTC, datetime

    from feedback.source_store import save_source

    entry = {"name": "extra", "type": "discourse", "url": "http://127.0.0.1:9"}
    with Session(engine) as s:
        save_source(s, entry | {"webhook_secret": "x-secret"}, [], datetime.now(UTC), "alice")
        s.commit()
    body = json.dumps(_post_payload(id=990, raw="Search is slow")).encode()
    response = client.post(
        "/hooks/discourse/extra",
        data=body,
        headers={"X-Discourse-Event-Signature": signature_for("x-secret", body)},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.get_json()["status"] == "added"
    assert [r.source for r in _rows(engine)] == ["extra"]
