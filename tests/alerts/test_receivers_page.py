"""Receivers page: last delivery status, attempts, and the test button (editor, CSRF)."""

from __future__ import annotations

import json

import pytest

from core.config import RawConfig
from core.models import Role
from tests.alerts.receiver_server import Receiver, running
from tests.conftest import csrf_token_from, login


@pytest.fixture
def rx():
    with running(Receiver(script=[200, 404])) as receiver:
        yield receiver


@pytest.fixture
def raw_config(rx) -> RawConfig:
    return RawConfig(
        {
            "receivers": [
                {
                    "name": "ops-hook",
                    "webhook": {"url": f"{rx.url}/hook?token=s3cr3tvalue", "hmac_secret": "k"},
                },
                {"name": "chat", "slack": {"url": f"{rx.url}/slack"}},
            ],
            "route": {
                "receiver": "ops-hook",
                "routes": [{"matchers": ['severity="chat"'], "receiver": "chat"}],
            },
        }
    )


def test_the_page_lists_receivers_routes_and_hides_url_secrets(client, make_user):
    login(client, "vic", make_user("vic", Role.VIEWER))
    html = client.get("/receivers/").get_data(as_text=True)
    assert "ops-hook" in html and "chat" in html and "slack" in html
    assert "never used" in html
    assert "s3cr3tvalue" not in html  # the query string can carry a token
    assert "signed (HMAC-SHA256)" in html
    assert 'severity="chat"' in html
    assert "Send test notification" not in html  # viewers get no button


def test_an_editor_sends_a_test_notification_and_sees_its_outcome(client, make_user, rx):
    login(client, "eve", make_user("eve", Role.EDITOR))
    page = client.get("/receivers/").get_data(as_text=True)
    token = csrf_token_from(page)
    done = client.post("/receivers/ops-hook/test", data={"csrf_token": token})
    assert done.status_code == 302
    (request,) = rx.requests
    assert request.path == "/hook?token=s3cr3tvalue"
    body = request.json()
    assert body["version"] == "4" and body["alerts"][0]["labels"]["alertname"] == (
        "OpsloopTestNotification"
    )
    assert "X-Opsloop-Signature" in request.headers
    html = client.get("/receivers/").get_data(as_text=True)
    assert "Test notification delivered to ops-hook (HTTP 200)" in html
    assert "last delivery ok" in html

    client.post("/receivers/chat/test", data={"csrf_token": token})
    assert json.loads(rx.requests[1].body)["text"].startswith("*[FIRING:1]*")
    html = client.get("/receivers/").get_data(as_text=True)
    assert "permanent failure" in html and "HTTP 404" in html


def test_the_test_button_needs_editor_and_a_csrf_token(client, make_user, rx):
    login(client, "vic", make_user("vic", Role.VIEWER))
    token = csrf_token_from(client.get("/receivers/").get_data(as_text=True))
    assert client.post("/receivers/ops-hook/test", data={"csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    login(client, "eve", make_user("eve", Role.EDITOR))
    assert client.post("/receivers/ops-hook/test").status_code == 400
    token = csrf_token_from(client.get("/receivers/").get_data(as_text=True))
    assert client.post("/receivers/nope/test", data={"csrf_token": token}).status_code == 404
    assert rx.requests == []
