"""Targets and series over the API and the targets page, with roles and CSRF."""

from typing import NamedTuple

import pytest
from sqlmodel import Session

from collector.landing import store_samples
from collector.models import TargetSource
from collector.targets import ensure_target
from core.models import Role, Scope
from tests.conftest import csrf_token_from, login

URL = "http://127.0.0.1:9100/metrics"


class Api:
    """The test client with a read+write bearer token, as CI or a script would call."""

    def __init__(self, client, token):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method):
        return lambda *a, **kw: getattr(self.client, method)(*a, headers=self.headers, **kw)


@pytest.fixture
def api(client, make_token):
    return Api(client, make_token())


class S(NamedTuple):
    name: str
    labels: dict
    value: float
    timestamp_ms: int | None


def test_targets_are_added_changed_paused_and_removed_over_the_api(api):
    created = api.post(
        "/api/v1/targets", json={"job": "node", "url": URL, "labels": {"env": "prod"}}
    )
    assert created.status_code == 201, created.get_json()
    target = created.get_json()
    assert (target["health"], target["source"], target["interval_s"]) == ("unknown", "api", 60.0)
    tid = target["id"]
    again = api.post("/api/v1/targets", json={"job": "node", "url": URL})
    assert again.status_code == 409
    paused = api.patch(f"/api/v1/targets/{tid}", json={"enabled": False})
    assert paused.get_json()["enabled"] is False
    listed = api.get("/api/v1/targets").get_json()["targets"]
    assert [t["id"] for t in listed] == [tid]
    assert api.delete(f"/api/v1/targets/{tid}").status_code == 204
    assert api.get(f"/api/v1/targets/{tid}").status_code == 404


def test_bad_target_input_gets_a_clear_400(api):
    cases = [
        ({"job": "x", "url": "ftp://host/metrics"}, "is not an http(s) URL"),
        ({"job": "x"}, "url is required"),
        ({"job": "x", "url": URL, "interval_s": "often"}, "interval_s must be a number"),
        ({"job": "x", "url": URL, "timeout_s": 90}, "timeout_s must be above 0 and at most"),
        ({"job": "x", "url": URL, "labels": {"__x": "1"}}, "reserved"),
        ({"job": "x", "url": URL, "colour": "red"}, "unknown field(s): colour"),
    ]
    for body, message in cases:
        response = api.post("/api/v1/targets", json=body)
        assert response.status_code == 400, body
        assert message in response.get_json()["message"], response.get_json()
    assert api.post("/api/v1/targets", data="x").status_code == 415
    assert api.patch("/api/v1/targets/999", json={"enabled": False}).status_code == 404


def test_config_targets_can_be_paused_but_not_removed(api, engine):
    with Session(engine, expire_on_commit=False) as session:
        t = ensure_target(
            session, job="cfg", url=URL, interval_s=15, timeout_s=5, source=TargetSource.CONFIG
        )
        session.commit()
    assert api.patch(f"/api/v1/targets/{t.id}", json={"enabled": False}).status_code == 200
    refused = api.patch(f"/api/v1/targets/{t.id}", json={"interval_s": 5})
    assert refused.status_code == 409 and "config file" in refused.get_json()["message"]
    assert api.delete(f"/api/v1/targets/{t.id}").status_code == 409


def test_a_read_token_can_list_but_not_change(client, make_token):
    token = make_token("viewer", (Scope.READ,))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/targets", headers=headers).status_code == 200
    refused = client.post("/api/v1/targets", json={"job": "a", "url": URL}, headers=headers)
    assert refused.status_code == 403


def test_series_returns_stored_samples_for_a_selector(api, engine):
    store_samples(
        engine,
        None,
        [
            S("http_requests_total", {"code": "200"}, 1.0, 1_000_000),
            S("http_requests_total", {"code": "500"}, float("nan"), 1_000_000),
            S("other", {}, 3.0, 1_000_000),
        ],
        now_ms=1_000_000,
    )
    got = api.get(
        "/api/v1/series",
        query_string={"match": 'http_requests_total{code=~"5.."}', "start": "0", "end": "2000"},
    ).get_json()
    assert got["data"] == [
        {"metric": {"__name__": "http_requests_total", "code": "500"}, "values": [[1000.0, "NaN"]]}
    ]
    bad = api.get("/api/v1/series", query_string={"match": "rate(x[5m])"})
    assert bad.status_code == 400 and "selector" in bad.get_json()["message"]
    bad = api.get("/api/v1/series", query_string={"match": "x{", "start": "0"})
    assert bad.status_code == 400
    bad = api.get("/api/v1/series", query_string={"match": "x", "start": "yesterday"})
    assert bad.status_code == 400 and "start" in bad.get_json()["message"]


def test_the_targets_page_shows_health_and_its_forms_work(client, make_user, engine):
    login(client, "ed", make_user("ed", Role.EDITOR))
    page = client.get("/targets/")
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    added = client.post(
        "/targets/",
        data={"job": "shop", "url": URL, "labels": "env=demo", "csrf_token": token},
        follow_redirects=True,
    )
    html = added.get_data(as_text=True)
    assert "Target http://127.0.0.1:9100/metrics added to job shop." in html
    assert "env=demo" in html and "never" in html
    bad = client.post(
        "/targets/", data={"job": "shop", "url": "nope", "csrf_token": token}, follow_redirects=True
    )
    assert "Target not added: url &#39;nope&#39; is not an http(s) URL" in bad.get_data(
        as_text=True
    )
    assert client.post("/targets/", data={"job": "x", "url": URL}).status_code == 400  # no CSRF


def test_a_viewer_sees_targets_without_forms(client, make_user):
    login(client, "vi", make_user("vi", Role.VIEWER))
    html = client.get("/targets/").get_data(as_text=True)
    assert "Scrape targets" in html and "Add a target" not in html
    page_token = csrf_token_from(html)
    refused = client.post("/targets/", data={"job": "x", "url": URL, "csrf_token": page_token})
    assert refused.status_code == 403
