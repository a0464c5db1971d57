"""Silences over the REST API: create, list, get, expire; validation; editor role."""

from datetime import UTC, datetime, timedelta

import pytest

from core.models import Scope


@pytest.fixture
def headers(make_token):
    return {"Authorization": f"Bearer {make_token('ops', (Scope.READ, Scope.WRITE))}"}


def _later(hours):
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


BODY = {
    "matchers": [
        {"name": "alertname", "value": "HighErrorRate", "isRegex": False, "isEqual": True},
        {"name": "env", "value": "dev|test", "isRegex": True, "isEqual": False},
    ],
    "endsAt": _later(2),
    "comment": "deploy of 1.4.2",
}


def test_create_list_get_and_expire(client, headers):
    created = client.post("/api/v1/silences", json=BODY, headers=headers)
    assert created.status_code == 201, created.get_json()
    silence_id = created.get_json()["silenceID"]
    silence = created.get_json()["silence"]
    assert silence["createdBy"] == "ops"
    assert silence["status"] == {"state": "active"}
    assert silence["matchers"][1] == BODY["matchers"][1]
    listed = client.get("/api/v1/silences?state=active", headers=headers).get_json()
    assert [s["id"] for s in listed["silences"]] == [silence_id]
    one = client.get(f"/api/v1/silences/{silence_id}", headers=headers).get_json()
    assert one["silence"]["comment"] == "deploy of 1.4.2"
    expired = client.delete(f"/api/v1/silences/{silence_id}", headers=headers)
    assert expired.get_json()["silence"]["status"] == {"state": "expired"}
    assert client.get("/api/v1/silences?state=active", headers=headers).get_json() == {
        "silences": []
    }
    assert client.delete("/api/v1/silences/999", headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"matchers": []}, "matchers: give a non-empty list"),
        (
            {"matchers": [{"name": "job", "value": "(", "isRegex": True}]},
            "matchers[0].value: '(' is not a valid regex",
        ),
        ({"endsAt": None}, "endsAt: missing field"),
        ({"endsAt": "tomorrow"}, "endsAt: 'tomorrow' is not an RFC 3339 time"),
        ({"endsAt": "2020-01-01T00:00:00Z"}, "endsAt: must be after startsAt"),
        ({"comment": ""}, "comment: say why"),
        ({"comment": 5}, "comment: must be a string"),
    ],
)
def test_invalid_silences_are_refused_naming_the_field(client, headers, change, message):
    body = {**BODY, **change}
    response = client.post("/api/v1/silences", json=body, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["message"].startswith(message)


def test_a_literal_value_is_not_a_regex(client, headers):
    body = {**BODY, "matchers": [{"name": "job", "value": "("}]}
    response = client.post("/api/v1/silences", json=body, headers=headers)
    assert response.status_code == 201
    assert response.get_json()["silence"]["matchers"][0]["isRegex"] is False


def test_a_read_only_token_cannot_create_or_expire(client, make_token, headers):
    reader = {"Authorization": f"Bearer {make_token('reader', (Scope.READ,))}"}
    assert client.post("/api/v1/silences", json=BODY, headers=reader).status_code == 403
    silence_id = client.post("/api/v1/silences", json=BODY, headers=headers).get_json()["silenceID"]
    assert client.delete(f"/api/v1/silences/{silence_id}", headers=reader).status_code == 403
    assert client.get("/api/v1/silences", headers=reader).status_code == 200
