"""Bearer tokens are verified once and remembered for TOKEN_CACHE_TTL_S per web process."""

from sqlalchemy import delete
from sqlmodel import Session, select

from core.models import ApiToken, Scope
from web.security import TOKEN_CACHE_TTL_S, token_cache

URL = "/api/v1/alerts"


def get(client, token):
    return client.get(URL, headers={"Authorization": f"Bearer {token}"})


def test_a_deleted_token_works_until_the_cache_forgets_it(app, client, engine, make_token):
    token = make_token("ci", (Scope.READ,))
    cache = token_cache(app)
    moment = [1000.0]
    cache.clock = lambda: moment[0]
    assert get(client, token).status_code == 200
    with Session(engine) as s:
        s.exec(delete(ApiToken))  # type: ignore[call-overload]
        s.commit()
    moment[0] += TOKEN_CACHE_TTL_S - 1
    assert get(client, token).status_code == 200  # the documented revocation delay
    moment[0] += 1
    refused = get(client, token)
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "unknown API token"


def test_unknown_tokens_are_not_remembered(app, client, make_token):
    assert get(client, "opl_not-a-real-token").status_code == 401
    token = make_token("late", (Scope.READ,))
    assert get(client, token).status_code == 200
    assert get(client, "opl_not-a-real-token").status_code == 401


def test_a_cached_token_keeps_its_role_and_its_use_is_recorded(client, engine, make_token):
    reader = make_token("reader", (Scope.READ,))
    for _ in range(2):
        assert (
            client.post(
                "/api/v1/alerts/alertmanager",
                data=b"{}",
                headers={"Authorization": f"Bearer {reader}"},
            ).status_code
            == 403
        )
    with Session(engine) as s:
        [used] = s.exec(select(ApiToken.last_used_at)).all()
    assert used is not None
