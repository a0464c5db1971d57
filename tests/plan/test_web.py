"""Plan pages and API on SQLite and PostgreSQL: ranking, changes, deploys, exports, roadmap."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlmodel import Session

from core.clock import utcnow
from core.config import RawConfig, load_config
from core.models import Role, Scope
from plan.config import PlanConfig, load_plan_config
from plan.errors import PlanConfigError
from plan.evidence import NewEvidence, add_evidence
from plan.items import create_item, rescore
from plan.models import EvidenceKind
from tests.conftest import csrf_token_from, login


def _seed(engine):
    """A feature many people asked for, and a critical incident seen once."""
    now = utcnow()
    with Session(engine) as s:
        wish = create_item(s, title="Dark mode", kind="feature", service="webshop", now=now)
        wish.public = True
        add_evidence(
            s,
            wish.id,
            [
                NewEvidence(
                    EvidenceKind.FEEDBACK,
                    str(n),
                    now,
                    ref_key="7",
                    people=1,
                    reporter=f"p{n}",
                    sentiment=-0.05,
                    summary=f"post {n}",
                )
                for n in range(12)
            ],
            now,
        )
        fire = create_item(s, title="Checkout 500s", kind="incident", service="webshop", now=now)
        add_evidence(
            s,
            fire.id,
            [
                NewEvidence(
                    EvidenceKind.ALERT,
                    "99",
                    now,
                    ref_key="abc",
                    severity="critical",
                    affected_share=0.02,
                    summary="HighErrorRate",
                )
            ],
            now,
        )
        s.commit()
        return wish.id, fire.id


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _write_weights(path, reach, impact, stamp):
    path.write_text(f"plan:\n  weights: {{reach: {reach}, impact: {impact}}}\n")
    os.utime(path, ns=(stamp, stamp))  # a distinct mtime even within one clock tick


def test_items_come_in_rank_order_and_saving_new_weights_reranks_them_at_once(
    app, client, engine, make_token, tmp_path
):
    wish, fire = _seed(engine)
    headers = _bearer(make_token("reader", (Scope.READ,)))
    config_file = tmp_path / "opsloop.yaml"
    _write_weights(config_file, 2.0, 0.5, 1_000_000_000)
    app.extensions["opsloop"].config = load_config(config_file)
    body = client.get("/api/v1/items", headers=headers).get_json()
    assert [i["id"] for i in body["items"]] == [wish, fire]
    first = body["items"][0]
    terms = {t["name"]: t for t in first["breakdown"]["terms"]}
    assert terms["reach"]["weight"] == 2.0 and terms["reach"]["inputs"]["people"] == 12
    assert first["rank"] == 1 and first["score"] > 0
    _write_weights(config_file, 0.5, 2.0, 2_000_000_000)  # no restart
    body = client.get("/api/v1/items", headers=headers).get_json()
    assert [i["id"] for i in body["items"]] == [fire, wish]
    config_file.write_text("plan: {weights: {reach: lots}}\n")  # a typo keeps the last good
    os.utime(config_file, ns=(3_000_000_000, 3_000_000_000))
    body = client.get("/api/v1/items", headers=headers).get_json()
    assert [i["id"] for i in body["items"]] == [fire, wish]
    only = client.get("/api/v1/items?kind=incident", headers=headers).get_json()
    assert [i["id"] for i in only["items"]] == [fire]
    bad = client.get("/api/v1/items?status=open", headers=headers)
    assert bad.status_code == 400 and "status must be one of" in bad.get_json()["message"]


def test_patch_changes_status_effort_title_and_refuses_bad_input_clearly(
    client, engine, make_token
):
    wish, _ = _seed(engine)
    writer = _bearer(make_token("ci", (Scope.READ, Scope.WRITE)))
    ok = client.patch(
        f"/api/v1/items/{wish}", json={"status": "planned", "effort": 3}, headers=writer
    )
    assert ok.status_code == 200, ok.get_json()
    assert (ok.get_json()["status"], ok.get_json()["effort"]) == ("planned", 3.0)
    cases = [
        ({"status": "done"}, 400, "status must be one of"),
        ({"effort": -1}, 400, "effort must be more than 0"),
        ({"title": ""}, 400, "title must be a non-empty string"),
        ({"score": 5}, 400, "cannot change score"),
        ({}, 400, "send a JSON object"),
    ]
    for body, status, message in cases:
        r = client.patch(f"/api/v1/items/{wish}", json=body, headers=writer)
        assert r.status_code == status and message in r.get_json()["message"], (body, r.get_json())
    assert (
        client.patch("/api/v1/items/9999", json={"title": "x"}, headers=writer).status_code == 404
    )
    reader = _bearer(make_token("reader", (Scope.READ,)))
    assert (
        client.patch(f"/api/v1/items/{wish}", json={"title": "x"}, headers=reader).status_code
        == 403
    )


def test_ci_posts_a_deploy_marker_and_the_named_items_are_released(client, engine, make_token):
    _wish, fire = _seed(engine)
    writer = _bearer(make_token("ci", (Scope.READ, Scope.WRITE)))
    body = {
        "service": "webshop",
        "version": "abc123",
        "items": [fire],
        "url": "https://ci.example/run/1",
        "at": "2026-11-25T10:00:00Z",
    }
    r = client.post("/api/v1/deploys", json=body, headers=writer)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["released"] == [fire] and r.get_json()["at"].startswith("2026-11-25T10:00")
    again = client.post("/api/v1/deploys", json=body, headers=writer)
    assert again.status_code == 200 and again.get_json()["released"] == []
    listed = client.get("/api/v1/deploys?service=webshop", headers=writer).get_json()["deploys"]
    assert [d["version"] for d in listed] == ["abc123"]
    items = client.get("/api/v1/items?status=released", headers=writer).get_json()["items"]
    assert [i["id"] for i in items] == [fire]
    for bad, message in [
        ({"service": "webshop"}, "version is required"),
        ({"service": "webshop", "version": "2", "items": [12345]}, "unknown item id(s): 12345"),
        ({"service": "webshop", "version": "2", "at": "yesterday"}, "not an ISO 8601"),
        ({"service": "webshop", "version": "2", "env": "prod"}, "unknown field(s): env"),
    ]:
        r = client.post("/api/v1/deploys", json=bad, headers=writer)
        assert r.status_code == 400 and message in r.get_json()["message"], r.get_json()
    assert client.post("/api/v1/deploys", json=body).status_code == 401
    reader = _bearer(make_token("reader", (Scope.READ,)))
    assert client.post("/api/v1/deploys", json=body, headers=reader).status_code == 403


def test_the_pages_show_the_list_board_item_and_export(auth_client, engine):
    wish, fire = _seed(engine)
    html = auth_client.get("/plan/").get_data(as_text=True)
    assert "Dark mode" in html and "Checkout 500s" in html
    board = auth_client.get("/plan/board?service=webshop").get_data(as_text=True)
    assert "in progress" in board and "Dark mode" in board
    page = auth_client.get(f"/plan/items/{wish}").get_data(as_text=True)
    for text in (
        "reach",
        "impact",
        "confidence",
        "effort",
        "decay",
        "people = 12",
        "Distinct people",
    ):
        assert text in page, text
    incident = auth_client.get(f"/plan/items/{fire}").get_data(as_text=True)
    assert 'href="/alerts/99"' in incident
    assert 'href="/feedback/inbox/3"' in page  # each post links to its page
    assert 'href="/feedback/themes/7"' in page  # and the item to its theme
    csv_text = auth_client.get("/plan/export.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("rank,id,title,kind")
    assert len(csv_text.strip().splitlines()) == 3
    data = auth_client.get("/plan/export.json?kind=feature").get_json()
    assert [i["title"] for i in data["items"]] == ["Dark mode"]
    assert auth_client.get("/plan/items/4242").status_code == 404


def test_an_editor_creates_edits_bulk_moves_and_merges(client, engine, make_user):
    login(client, "ed", make_user("ed", Role.EDITOR))
    wish, _fire = _seed(engine)
    token = csrf_token_from(client.get("/plan/items/new").get_data(as_text=True))
    bad = client.post("/plan/items/new", data={"title": "", "kind": "task", "csrf_token": token})
    assert bad.status_code == 400 and "title must be a non-empty string" in bad.get_data(
        as_text=True
    )
    made = client.post(
        "/plan/items/new",
        data={"title": "Upgrade Postgres", "kind": "task", "effort": "2", "csrf_token": token},
    )
    assert made.status_code == 302
    new_id = int(made.headers["Location"].rsplit("/", 1)[1])
    r = client.post(
        "/plan/bulk-status",
        data={"item": [str(wish), str(new_id)], "status": "planned", "csrf_token": token},
    )
    assert r.status_code == 302
    planned = client.get("/plan/export.json?status=planned").get_json()["items"]
    assert sorted(i["id"] for i in planned) == sorted([wish, new_id])
    client.post(f"/plan/items/{wish}/merge", data={"sources": f"#{new_id}", "csrf_token": token})
    page = client.get(f"/plan/items/{new_id}").get_data(as_text=True)
    assert "merged into" in page
    no_csrf = client.post(f"/plan/items/{wish}/edit", data={"title": "x"})
    assert no_csrf.status_code == 400


def test_a_viewer_cannot_change_items(client, engine, make_user):
    login(client, "v", make_user("v", Role.VIEWER))
    wish, _ = _seed(engine)
    page = client.get(f"/plan/items/{wish}").get_data(as_text=True)
    token = csrf_token_from(page)
    r = client.post(f"/plan/items/{wish}/edit", data={"title": "hijack", "csrf_token": token})
    assert r.status_code == 403


def test_the_public_roadmap_shows_only_public_items_with_votes(client, engine):
    _wish, _fire = _seed(engine)
    with Session(engine) as s:
        rescore(s, PlanConfig(), utcnow() + timedelta(seconds=1))
        s.commit()
    html = client.get("/roadmap").get_data(as_text=True)
    assert "Dark mode" in html and "12 votes" in html
    assert "Checkout 500s" not in html


def test_a_config_with_bad_weights_names_the_problem():
    with pytest.raises(PlanConfigError, match=r"plan\.weights: unknown weight"):
        load_plan_config({"weights": {"rich": 1}}, "opsloop.yaml")
    with pytest.raises(
        PlanConfigError, match=r"opsloop\.yaml: plan\.watch_window: expected a duration"
    ):
        load_plan_config({"watch_window": "soon"}, "opsloop.yaml")
    assert load_plan_config({"watch_window": "3d"}).watch_window_s == 3 * 86400
    assert RawConfig().section("plan") is None


def test_a_rollback_posted_by_ci_is_a_new_deploy_and_its_retry_is_not(client, make_token):
    writer = _bearer(make_token("ci", (Scope.READ, Scope.WRITE)))

    def post(version: str, at: str) -> int:
        body = {"service": "webshop", "version": version, "at": at}
        return client.post("/api/v1/deploys", json=body, headers=writer).status_code

    assert post("v1", "2026-11-25T10:00:00Z") == 201
    assert post("v2", "2026-11-25T10:05:00Z") == 201
    assert post("v1", "2026-11-25T10:10:00Z") == 201  # the rollback
    assert post("v1", "2026-11-25T10:10:30Z") == 200  # its CI job retrying
    listed = client.get("/api/v1/deploys?service=webshop", headers=writer).get_json()["deploys"]
    assert [(d["version"], d["at"][11:16]) for d in listed] == [
        ("v1", "10:10"),
        ("v2", "10:05"),
        ("v1", "10:00"),
    ]
