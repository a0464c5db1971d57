"""Every route that is not on the public allow-list needs a session or a token."""

import re

import pytest

from core.models import Role, Scope
from tests.conftest import csrf_token_from, login
from web.security import is_public

# The explicit allow-list: health, metrics, login, static assets, and (later issues) the
# public feedback form, survey pages, the roadmap and signed webhooks.
PUBLIC_ENDPOINTS = {
    "health.healthz",
    "health.readyz",
    "health.metrics",
    "auth.login",
    "static",
    "plotly_js",
}
PUBLIC_PREFIXES = ("feedback_public.", "surveys_public.", "roadmap.", "hooks.")


def _sample_path(rule) -> str:
    return re.sub(r"<(?:[a-z_]+:)?[a-zA-Z_]+>", "1", rule.rule)


def test_the_public_routes_are_exactly_the_allow_list(app):
    public = {ep for ep, view in app.view_functions.items() if is_public(view)}
    unexpected = {ep for ep in public - PUBLIC_ENDPOINTS if not ep.startswith(PUBLIC_PREFIXES)}
    assert unexpected == set(), f"public routes outside the allow-list: {unexpected}"
    assert public >= PUBLIC_ENDPOINTS


def test_every_private_route_refuses_an_anonymous_request(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if is_public(app.view_functions[rule.endpoint]):
            continue
        path = _sample_path(rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            checked += 1
            if path.startswith("/api/"):
                assert response.status_code == 401, (method, path)
                assert response.get_json()["error"] == "unauthorized"
            else:
                assert response.status_code == 302, (method, path, response.status_code)
                assert response.headers["Location"].startswith("/login?next=")
    assert checked >= 8


def test_login_then_the_dashboard_then_logout(client, make_user):
    login(client, "alice", make_user("alice"))
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for label in ("Overview", "Services", "Alerts", "Feedback", "Plan", "Settings"):
        assert f">{label}</a>" in html
    client.post("/logout", data={"csrf_token": csrf_token_from(html)})
    assert client.get("/").status_code == 302


def test_a_wrong_password_says_so_and_keeps_you_out(client, make_user):
    make_user("alice")
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"name": "alice", "password": "nope-nope", "csrf_token": csrf_token_from(page)},
    )
    assert response.status_code == 400
    assert "wrong user name or password" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_without_a_csrf_token_is_refused(client, make_user):
    response = client.post("/login", data={"name": "alice", "password": make_user("alice")})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_login_redirects_back_but_never_off_site(client, make_user):
    password = make_user("alice")
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login?next=//evil.example/x",
        data={"name": "alice", "password": password, "csrf_token": csrf_token_from(page)},
    )
    assert response.headers["Location"] == "/"


def test_a_bearer_token_opens_the_api(client, make_token):
    token = make_token("ci", (Scope.READ,))
    response = client.get("/api/openapi.json", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    bad = client.get("/api/openapi.json", headers={"Authorization": "Bearer opl_wrong"})
    assert bad.status_code == 401
    assert bad.get_json()["message"] == "unknown API token"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.ADMIN])
def test_every_role_can_read_the_dashboard(client, make_user, role):
    login(client, "u", make_user("u", role))
    assert client.get("/settings/").status_code == 200
