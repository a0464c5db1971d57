"""Receivers, routes and maintenance windows from config; Alertmanager's routing semantics."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.payloads import labelset_string
from alerts.receivers import (
    DEFAULT_GROUP_INTERVAL_S,
    DEFAULT_GROUP_WAIT_S,
    DEFAULT_REPEAT_INTERVAL_S,
    ReceiverKind,
    parse_notify_config,
)
from core.config import RawConfig
from core.errors import ConfigError

RECEIVERS = [
    {"name": "default", "webhook": {"url": "http://127.0.0.1:9/hook", "bearer_token": "t"}},
    {"name": "pager", "webhook": {"url": "http://127.0.0.1:9/page"}},
    {"name": "chat", "slack": {"url": "http://127.0.0.1:9/slack"}},
    {"name": "am", "alertmanager": {"url": "http://127.0.0.1:9093/"}},
]
ROUTE = {
    "receiver": "default",
    "group_by": ["alertname", "service"],
    "routes": [
        {
            "matchers": ['severity="page"'],
            "receiver": "pager",
            "group_wait": "10s",
            "continue": True,
        },
        {"match_re": {"service": "api|web"}, "receiver": "chat", "repeat_interval": "1h"},
        {"matchers": ["team=~db.*"], "receiver": "am"},
    ],
}


def config(**sections) -> RawConfig:
    return RawConfig({"receivers": RECEIVERS, "route": ROUTE, **sections}, None)


def test_defaults_are_alertmanagers():
    notify = parse_notify_config(config())
    root = notify.route
    assert (root.group_wait_s, root.group_interval_s, root.repeat_interval_s) == (
        DEFAULT_GROUP_WAIT_S, DEFAULT_GROUP_INTERVAL_S, DEFAULT_REPEAT_INTERVAL_S,
    )  # fmt: skip
    assert (DEFAULT_GROUP_WAIT_S, DEFAULT_GROUP_INTERVAL_S, DEFAULT_REPEAT_INTERVAL_S) == (
        30.0, 300.0, 14400.0,
    )  # fmt: skip
    assert notify.receivers["am"].kind is ReceiverKind.ALERTMANAGER
    assert notify.receivers["am"].url == "http://127.0.0.1:9093"
    assert notify.receivers["default"].bearer_token == "t"


def test_routes_match_like_alertmanager_with_continue_and_inheritance():
    root = parse_notify_config(config()).route

    def receivers(**labels):
        return [r.receiver for r in root.match(labels)]

    assert receivers(alertname="X", severity="page", service="api") == ["pager", "chat"]
    assert receivers(alertname="X", service="web") == ["chat"]
    assert receivers(alertname="X", team="dbops") == ["am"]
    assert receivers(alertname="X", service="billing") == ["default"]
    pager, chat, _ = root.routes
    assert pager.group_wait_s == 10.0 and pager.repeat_interval_s == DEFAULT_REPEAT_INTERVAL_S
    assert chat.repeat_interval_s == 3600.0 and chat.group_by == ("alertname", "service")
    assert pager.key == '{}/{severity="page"}'
    assert chat.key == '{}/{service=~"api|web"}'


def test_group_labels_and_the_group_key_text():
    root = parse_notify_config(config()).route
    labels = {"alertname": "X", "service": "api", "instance": "a"}
    assert root.group_labels(labels) == {"alertname": "X", "service": "api"}
    assert labelset_string(root.group_labels(labels)) == '{alertname="X", service="api"}'


def test_maintenance_windows_cover_their_service_and_time():
    notify = parse_notify_config(
        config(
            maintenance_windows=[
                {"service": "db", "start": "2026-11-26T02:00:00Z", "end": "2026-11-26T04:00:00Z"}
            ]
        )
    )
    inside = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    after = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
    assert notify.window_for("db", inside) is not None
    assert notify.window_for("api", inside) is None
    assert notify.window_for("db", after) is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"receivers": [{"name": "x", "email": {"to": "a"}}]}, "give exactly one of"),
        ({"receivers": [{"name": "x", "webhook": {"url": "ftp://h"}}]}, "not an http"),
        (
            {"receivers": [{"name": "x", "webhook": {"url": "http://h", "timeout": "soon"}}]},
            "not a duration",
        ),
        ({"receivers": [*RECEIVERS, RECEIVERS[0]]}, "used twice"),
        ({"route": {"receiver": "nobody"}}, "not a configured receiver"),
        ({"route": {"receiver": "default", "matchers": ['a="b"']}}, "takes no matchers"),
        (
            {"route": {"receiver": "default", "routes": [{"matchers": ["a=~("]}]}},
            "not a valid regex",
        ),
        ({"route": {"receiver": "default", "group_wait": "1x"}}, "group_wait"),
        (
            {
                "maintenance_windows": [
                    {"service": "db", "start": "2026-11-26T02:00:00", "end": "2026-11-26T04:00:00Z"}
                ]
            },
            "with a zone",
        ),
        ({"route": None}, "no route"),
    ],
)
def test_config_errors_name_the_place_and_the_problem(change, problem):
    data = {"receivers": RECEIVERS, "route": ROUTE, **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ConfigError, match=problem):
        parse_notify_config(RawConfig(data, None))


def test_secrets_can_come_from_files_next_to_the_config(tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "hmac").write_text("s3cret\n")
    (tmp_path / "secrets" / "pw").write_text("hunter2\n")
    raw = RawConfig(
        {
            "receivers": [
                {
                    "name": "a",
                    "webhook": {
                        "url": "http://127.0.0.1:9/",
                        "hmac_secret_file": "secrets/hmac",
                        "basic_auth": {"username": "am", "password_file": "secrets/pw"},
                    },
                }
            ],
            "route": {"receiver": "a"},
        },
        tmp_path / "opsloop.yml",
    )
    receiver = parse_notify_config(raw).receivers["a"]
    assert receiver.hmac_secret == "s3cret"
    assert receiver.basic_auth == ("am", "hunter2")
    missing = RawConfig(
        {
            "receivers": [
                {"name": "a", "webhook": {"url": "http://h/", "bearer_token_file": "nope"}}
            ],
            "route": {"receiver": "a"},
        },
        tmp_path / "opsloop.yml",
    )
    with pytest.raises(ConfigError, match=r"bearer_token_file: cannot read .*nope"):
        parse_notify_config(missing)
