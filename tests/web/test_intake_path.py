"""The intake's lean path answers as the Flask view does, and leaves every other case to it."""

import copy
import json

import pytest
from flask import request_started
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.models import Scope
from tests.alerts.payloads import GRAFANA_MESSAGE, alertmanager_message

AM_URL = "/api/v1/alerts/alertmanager"
GRAFANA_URL = "/api/v1/alerts/grafana"


@pytest.fixture
def flask_only(app):
    """A client of the same app without the lean path: what the Flask view answers."""
    from flask.testing import FlaskClient

    class _FlaskOnly(FlaskClient):
        def open(self, *args, **kwargs):
            lean = app.wsgi_app
            app.wsgi_app = lean.flask_wsgi
            try:
                return super().open(*args, **kwargs)
            finally:
                app.wsgi_app = lean

    return _FlaskOnly(app)


@pytest.fixture
def flask_requests(app):
    """How many requests went through Flask's request machinery."""
    seen = []

    def count(sender, **_extra):
        seen.append(1)

    request_started.connect(count, app)
    yield seen
    request_started.disconnect(count, app)


def _post(client, url, body, token=None, **headers):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(url, data=data, headers={"Content-Type": "application/json", **headers})


def _answer(response):
    return response.status_code, list(response.headers.items()), response.get_data()


def _metric(app, endpoint, status):
    value = app.extensions["opsloop"].metrics.registry.get_sample_value(
        "opsloop_http_requests_total",
        {"endpoint": endpoint, "method": "POST", "status": str(status)},
    )
    return value or 0.0


def test_a_stored_webhook_gets_the_flask_views_answer_without_flask(
    app, client, flask_only, make_token, flask_requests
):
    token = make_token("am", (Scope.WRITE,))
    first, second = alertmanager_message(prefix="a"), alertmanager_message(prefix="b")
    grafana = copy.deepcopy(GRAFANA_MESSAGE)
    pairs = [
        (_post(client, AM_URL, first, token), _post(flask_only, AM_URL, second, token)),
        (_post(client, AM_URL, second, token), _post(flask_only, AM_URL, first, token)),
    ]
    lean_grafana = _post(client, GRAFANA_URL, grafana, token)
    assert flask_requests == [1, 1]  # only flask_only's two went through Flask
    for lean, view in pairs:
        assert _answer(lean) == _answer(view)
    assert pairs[0][0].get_json()["created"] == 2 and pairs[1][0].get_json()["unchanged"] == 2
    assert lean_grafana.status_code == 200 and lean_grafana.get_json()["created"] == len(
        grafana["alerts"]
    )
    assert _metric(app, "api_alerts.intake_alertmanager", 200) == 4
    assert _metric(app, "api_alerts.intake_grafana", 200) == 1


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("no token", 401),
        ("unknown token", 401),
        ("read token", 403),
        ("malformed JSON", 400),
        ("missing field", 400),
        ("too large", 413),
    ],
)
def test_every_other_outcome_is_the_flask_views_own(
    app, client, flask_only, make_token, flask_requests, case, status
):
    writer = make_token("am", (Scope.WRITE,))
    token = {"no token": None, "unknown token": "opl_nope", "read token": None}.get(case, writer)
    if case == "read token":
        token = make_token("reader", (Scope.READ,))
    body = alertmanager_message(alerts=1)
    if case == "malformed JSON":
        body = b'{"version": "4", "alerts": ['
    elif case == "missing field":
        del body["alerts"][0]["startsAt"]
    elif case == "too large":
        body["alerts"][0]["annotations"]["description"] = "x" * (1024 * 1024)
    lean, view = (
        _post(client, AM_URL, body, token),
        _post(flask_only, AM_URL, body, token),
    )
    assert lean.status_code == status
    assert _answer(lean) == _answer(view)
    assert flask_requests == [1, 1]  # the lean path handed it on
    assert _metric(app, "api_alerts.intake_alertmanager", status) == 2


def test_the_flask_hooks_are_the_ones_the_lean_path_stands_in_for(app):
    """A new before/after-request hook may change the intake's answer: then the lean path
    (web/intake_path.py) must do what it does, and this list is updated."""
    hooks = {
        "before": [f.__name__ for f in app.before_request_funcs[None]],
        "after": [
            getattr(f, "__name__", getattr(f, "func", f).__name__)
            for f in app.after_request_funcs[None]
        ],
    }
    assert hooks == {
        "before": ["_check_request_limit", "csrf_protect", "_guard", "_start_timer"],
        "after": [
            "__inject_headers",
            "_update_remember_cookie",
            "_record_request",
            "_security_headers",
        ],
    }
    for endpoint in ("api_alerts.intake_alertmanager", "api_alerts.intake_grafana"):
        assert app.view_functions[endpoint]._opsloop_role.value == "editor"


@pytest.mark.parametrize("db_backend", ["sqlite"])  # PostgreSQL's test database is shared
def test_a_failure_to_store_is_handed_to_flask_which_fails_it_as_before(
    app, client, engine, make_token, flask_requests
):
    token = make_token("am", (Scope.WRITE,))
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alert_event"))
    with pytest.raises(DBAPIError, match="alert_event"):  # TESTING propagates view errors
        _post(client, AM_URL, alertmanager_message(alerts=1), token)
    assert flask_requests == [1]


class _BrokenInput:
    def read(self, *_args):
        raise OSError("connection reset by peer")


def test_a_body_that_cannot_be_read_gets_flasks_answer_to_a_short_body(app, make_token):
    token = make_token("am", (Scope.WRITE,))
    answers = []
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": AM_URL,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": _BrokenInput(),
        "wsgi.errors": None,
        "CONTENT_LENGTH": "100",
        "CONTENT_TYPE": "application/json",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
    }
    body = b"".join(app(environ, lambda status, headers: answers.append(status)))
    assert answers == ["400 BAD REQUEST"]
    assert json.loads(body)["error"] == "bad_request"
