"""Export to real local HTTP servers playing GitHub, Jira and a webhook receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.config import RawConfig
from plan.config import load_exporters
from plan.errors import ExportInProgress
from plan.export import export_item
from plan.items import create_item, edit_item
from plan.models import ExportLink
from tests.conftest import csrf_token_from
from tests.plan.conftest import NOW

BASE = "http://opsloop.test"


class FakeApi:
    """Records every request; answers by the rules of the API it plays."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = None  # force an error status when set
        self.next_number = 41
        self.on_request: Callable[[], None] | None = None  # runs while the caller waits

    def answer(self, method: str, path: str, body: dict) -> tuple[int, dict | None]:
        if self.status:
            return self.status, {"message": "nope"}
        if method == "POST" and path.endswith("/issues"):  # GitHub create
            self.next_number += 1
            return 201, {"number": self.next_number, "html_url": f"https://gh/{self.next_number}"}
        if method == "PATCH" and "/issues/" in path:
            return 200, {"number": int(path.rsplit("/", 1)[1]), "html_url": "https://gh/x"}
        if method == "POST" and path.startswith("/rest/api/"):  # Jira create
            return 201, {
                "id": "10001",
                "key": "OPS-7",
                "self": "http://jira/rest/api/2/issue/10001",
            }
        if method == "PUT" and path.startswith("/rest/api/"):
            return 204, None
        if method == "POST" and path == "/hook":
            return 200, {"id": "hook-1"}
        return 404, {"message": "no such route"}


@pytest.fixture
def fake() -> Iterator[tuple[FakeApi, str]]:
    api = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            api.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                    "raw": raw,
                }
            )
            if api.on_request is not None:
                api.on_request()
            status, answer = api.answer(self.command, self.path, body)
            data = json.dumps(answer).encode() if answer is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_PATCH = do_PUT = _handle

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def _item(session):
    item = create_item(
        session,
        title="Checkout times out",
        kind="bug",
        service="webshop",
        now=NOW,
        description="Users cannot pay.",
    )
    session.commit()  # export_item runs its own transactions, outside the caller's
    return item


def test_github_creates_an_issue_then_patches_it_on_re_export(session, engine, cfg, fake):
    api, url = fake
    exporters = load_exporters(
        [
            {
                "type": "github",
                "repo": "acme/shop",
                "token": "ghp_x",
                "api_url": url,
                "labels": ["from-users"],
            }
        ]
    )
    item = _item(session)
    first = export_item(engine, item.id, "github", exporters, BASE, NOW)
    edit_item(session, item.id, {"title": "Checkout times out under load"}, cfg, NOW)
    session.commit()
    second = export_item(engine, item.id, "github", exporters, BASE, NOW)
    assert first.created and not second.created and first.error is None
    create, update = api.requests
    assert (create["method"], create["path"]) == ("POST", "/repos/acme/shop/issues")
    assert create["body"]["title"] == "Checkout times out"
    assert create["body"]["labels"] == ["opsloop", "bug", "service:webshop", "from-users"]
    assert f"{BASE}/plan/items/{item.id}" in create["body"]["body"]
    assert "Users cannot pay." in create["body"]["body"]
    assert create["headers"]["Authorization"] == "Bearer ghp_x"
    assert create["headers"]["User-Agent"].startswith("opsloop/")
    assert (update["method"], update["path"]) == ("PATCH", "/repos/acme/shop/issues/42")
    assert update["body"]["title"] == "Checkout times out under load"
    (link,) = session.exec(select(ExportLink)).all()
    assert (link.external_id, link.external_url, link.last_status) == ("42", "https://gh/x", "ok")


def test_jira_creates_an_issue_then_puts_it_on_re_export(session, engine, fake):
    api, url = fake
    exporters = load_exporters(
        [{"type": "jira", "url": url, "project": "OPS", "email": "bot@acme.io", "token": "t0k"}]
    )
    item = _item(session)
    export_item(engine, item.id, "jira", exporters, BASE, NOW)
    export_item(engine, item.id, "jira", exporters, BASE, NOW)
    create, update = api.requests
    assert (create["method"], create["path"]) == ("POST", "/rest/api/2/issue")
    fields = create["body"]["fields"]
    assert fields["project"] == {"key": "OPS"} and fields["summary"] == "Checkout times out"
    assert fields["issuetype"] == {"name": "Bug"} and "Users cannot pay." in fields["description"]
    expected = base64.b64encode(b"bot@acme.io:t0k").decode()
    assert create["headers"]["Authorization"] == f"Basic {expected}"
    assert (update["method"], update["path"]) == ("PUT", "/rest/api/2/issue/OPS-7")
    assert update["body"]["fields"]["summary"] == "Checkout times out"
    (link,) = session.exec(select(ExportLink)).all()
    assert link.external_url == f"{url}/browse/OPS-7"


def test_the_webhook_gets_a_signed_json_post_and_an_update_event(session, engine, fake):
    api, url = fake
    exporters = load_exporters([{"type": "webhook", "url": f"{url}/hook", "secret": "s3cret"}])
    item = _item(session)
    export_item(engine, item.id, "webhook", exporters, BASE, NOW)
    export_item(engine, item.id, "webhook", exporters, BASE, NOW)
    first, second = api.requests
    assert first["body"]["event"] == "item.exported" and second["body"]["event"] == "item.updated"
    assert second["body"]["external_id"] == "hook-1"
    assert first["body"]["item"]["title"] == "Checkout times out"
    stamp = first["headers"]["X-Opsloop-Timestamp"]
    mac = hmac.new(b"s3cret", stamp.encode() + b"." + first["raw"], hashlib.sha256).hexdigest()
    assert first["headers"]["X-Opsloop-Signature"] == f"sha256={mac}"
    assert len(session.exec(select(ExportLink)).all()) == 1


def test_a_refused_export_is_stored_as_a_permanent_error(session, engine, fake):
    api, url = fake
    api.status = 422
    exporters = load_exporters([{"type": "github", "repo": "a/b", "token": "x", "api_url": url}])
    item = _item(session)
    outcome = export_item(engine, item.id, "github", exporters, BASE, NOW)
    assert outcome.error is not None and outcome.error.permanent
    assert outcome.link.last_status == "error" and "422" in outcome.link.last_error
    api.status = None
    retry = export_item(engine, item.id, "github", exporters, BASE, NOW)
    assert retry.created and retry.link.last_status == "ok" and retry.link.last_error is None


def test_the_export_button_creates_then_updates_and_the_page_shows_the_link(
    app, auth_client, engine, fake
):
    api, url = fake
    app.extensions["opsloop"].config = RawConfig(
        data={"exporters": [{"type": "github", "repo": "acme/shop", "token": "t", "api_url": url}]}
    )
    with Session(engine) as s:
        item_id = _item(s).id
        s.commit()
    page = auth_client.get(f"/plan/items/{item_id}").get_data(as_text=True)
    assert "Export to github" in page
    token = csrf_token_from(page)
    for _ in range(2):
        r = auth_client.post(f"/plan/items/{item_id}/export/github", data={"csrf_token": token})
        assert r.status_code == 302
    assert [x["method"] for x in api.requests] == ["POST", "PATCH"]
    page = auth_client.get(f"/plan/items/{item_id}").get_data(as_text=True)
    assert 'href="https://gh/x"' in page
    r = auth_client.post(f"/plan/items/{item_id}/export/jira", data={"csrf_token": token})
    follow = auth_client.get(r.headers["Location"]).get_data(as_text=True)
    assert "no jira exporter is configured" in follow


def _database_is_free(engine: Engine) -> bool:
    """No transaction of ours is open: SQLite's write lock is free / PostgreSQL has no
    connection idle in a transaction."""
    if engine.dialect.name == "sqlite":
        probe = sqlite3.connect(str(engine.url.database), timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            probe.close()
    with engine.connect() as conn:
        busy = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
            )
        ).scalar()
    return busy == 0


def _github(url: str):
    return load_exporters([{"type": "github", "repo": "acme/shop", "token": "t", "api_url": url}])


def test_no_transaction_is_held_while_the_tracker_answers(session, engine, fake):
    api, url = fake
    seen: list[bool] = []
    api.on_request = lambda: seen.append(_database_is_free(engine))
    item = _item(session)
    session.close()
    export_item(engine, item.id, "github", _github(url), BASE, NOW)
    export_item(engine, item.id, "github", _github(url), BASE, NOW)
    assert seen == [True, True]
    (link,) = session.exec(select(ExportLink)).all()
    assert (link.external_id, link.last_status, link.claimed_at) == ("42", "ok", None)


def test_two_exports_racing_create_one_issue_and_the_next_updates_it(session, engine, fake):
    api, url = fake
    arrived, release = threading.Event(), threading.Event()

    def hold() -> None:  # the first create waits in GitHub until the second export has run
        arrived.set()
        release.wait(timeout=30)

    api.on_request = hold
    item = _item(session)
    session.close()
    outcomes: list = []
    first = threading.Thread(
        target=lambda: outcomes.append(
            export_item(engine, item.id, "github", _github(url), BASE, NOW)
        )
    )
    first.start()
    assert arrived.wait(timeout=30)
    api.on_request = None
    try:
        with pytest.raises(ExportInProgress, match="being exported to github right now"):
            export_item(engine, item.id, "github", _github(url), BASE, NOW)
    finally:
        release.set()
        first.join(timeout=30)
    (outcome,) = outcomes
    assert outcome.created and outcome.link.external_id == "42"
    again = export_item(engine, item.id, "github", _github(url), BASE, NOW)
    assert not again.created
    assert [(r["method"], r["path"]) for r in api.requests] == [
        ("POST", "/repos/acme/shop/issues"),
        ("PATCH", "/repos/acme/shop/issues/42"),
    ]


def test_the_export_button_holds_no_transaction_during_the_call(app, auth_client, engine, fake):
    api, url = fake
    app.extensions["opsloop"].config = RawConfig(
        data={"exporters": [{"type": "github", "repo": "acme/shop", "token": "t", "api_url": url}]}
    )
    with Session(engine) as s:
        item_id = _item(s).id
    seen: list[bool] = []
    api.on_request = lambda: seen.append(_database_is_free(engine))
    token = csrf_token_from(auth_client.get(f"/plan/items/{item_id}").get_data(as_text=True))
    r = auth_client.post(f"/plan/items/{item_id}/export/github", data={"csrf_token": token})
    assert r.status_code == 302 and seen == [True]
    missing = auth_client.post("/plan/items/999/export/github", data={"csrf_token": token})
    assert missing.status_code == 404
