"""The public feedback form: what a visitor sees for each mistake, and what gets stored."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from core.config import RawConfig
from feedback.models import Feedback, FeedbackKind
from tests.conftest import csrf_token_from


def _stored(engine) -> list[Feedback]:
    with Session(engine) as s:
        return list(s.exec(select(Feedback)).all())


def _post(client, **fields):
    token = csrf_token_from(client.get("/feedback").get_data(as_text=True))
    return client.post("/feedback", data={"csrf_token": token, **fields})


def test_a_message_is_stored_with_its_details_and_thanked(client, engine):
    response = _post(
        client, message="Exports time out every Monday", email="a@example.com", rating="2"
    )
    assert response.status_code == 200
    assert "Thank you" in response.get_data(as_text=True)
    [item] = _stored(engine)
    assert item.kind == FeedbackKind.FORM and item.source == "form"
    assert item.text == "Exports time out every Monday"
    assert item.email == "a@example.com" and item.rating == 2.0
    assert item.sentiment is not None and item.sentiment_label in {"negative", "neutral"}
    assert item.spam is False


def test_a_post_without_csrf_token_is_refused(client, engine):
    response = client.post("/feedback", data={"message": "hello there"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert _stored(engine) == []


def test_an_empty_message_is_refused_with_a_message_next_to_the_field(client, engine):
    response = _post(client, message="   ", email="a@example.com")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Please write a message." in html
    assert 'value="a@example.com"' in html  # what was typed is kept
    assert _stored(engine) == []


def test_an_oversized_body_gets_413_with_a_clear_message(client, engine):
    response = _post(client, message="x" * 100_000)
    assert response.status_code == 413
    assert "at most 64 KB" in response.get_data(as_text=True)
    assert _stored(engine) == []


def test_a_too_long_message_names_the_limit(client, engine):
    response = _post(client, message="y" * 6000)
    assert response.status_code == 400
    assert "6000 characters; the limit is 5000" in response.get_data(as_text=True)


def test_a_bad_email_is_named(client, engine):
    response = _post(client, message="Login is slow", email="not-an-address")
    assert response.status_code == 400
    assert "is not an e-mail address" in response.get_data(as_text=True)
    assert _stored(engine) == []


def test_a_rating_of_9_is_refused(client, engine):
    response = _post(client, message="Login is slow", rating="9")
    assert response.status_code == 400
    assert "The rating must be from 1 to 5; 9 is outside." in response.get_data(as_text=True)
    assert _stored(engine) == []


def test_an_unknown_service_is_refused(client, engine):
    response = _post(client, message="Login is slow", service="no-such-service")
    assert response.status_code == 400
    assert "Choose a service from the list" in response.get_data(as_text=True)


def test_a_filled_honeypot_is_thanked_but_not_stored(client, engine):
    response = _post(client, message="Buy cheap pills", website="http://spam.example")
    assert response.status_code == 200
    assert "Thank you" in response.get_data(as_text=True)
    assert _stored(engine) == []


def test_the_same_form_sent_twice_is_stored_once(client, engine):
    token = csrf_token_from(client.get("/feedback").get_data(as_text=True))
    for _ in range(2):
        assert client.post("/feedback", data={"csrf_token": token, "message": "Dark mode please"})
    assert len(_stored(engine)) == 1


def test_the_rate_limit_answers_429_with_a_clear_message(client, engine):
    codes = [_post(client, message=f"message number {i}").status_code for i in range(6)]
    assert codes == [200, 200, 200, 200, 200, 429]
    assert "Too many messages" in _post(client, message="again").get_data(as_text=True)
    assert len(_stored(engine)) == 5


def test_a_script_tag_is_stored_as_text_and_shown_escaped(client, engine):
    text = "<script>alert('x')</script> the export breaks"
    response = _post(client, message=text)
    html = response.get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; the export breaks" in html
    [item] = _stored(engine)
    assert item.text == text


def test_the_embed_page_may_be_framed_and_uses_its_own_form_token(client, engine):
    page = client.get("/feedback/embed")
    assert page.status_code == 200
    assert "X-Frame-Options" not in page.headers
    assert client.get("/feedback").headers["X-Frame-Options"] == "DENY"
    token = re.search(r'name="form_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    # no session cookie in a third-party iframe: a fresh client stands for that browser
    fresh = client.application.test_client()
    ok = fresh.post(
        "/feedback/embed", data={"form_token": token.group(1), "message": "From the app"}
    )
    assert ok.status_code == 200 and "Thank you" in ok.get_data(as_text=True)
    bad = fresh.post("/feedback/embed", data={"form_token": "forged", "message": "From the app"})
    assert bad.status_code == 400
    assert "This form has expired" in bad.get_data(as_text=True)
    assert [f.text for f in _stored(engine)] == ["From the app"]


@pytest.mark.parametrize(
    "raw_config", [RawConfig(data={"services": [{"name": "webshop"}, {"name": "api"}]})]
)
def test_the_service_menu_lists_the_configured_services(client, engine):
    html = client.get("/feedback?service=webshop").get_data(as_text=True)
    assert '<option value="api" >api</option>' in html
    assert '<option value="webshop" selected>webshop</option>' in html
    assert _post(client, message="Cart is empty after login", service="webshop").status_code == 200
    [item] = _stored(engine)
    assert item.service == "webshop"
