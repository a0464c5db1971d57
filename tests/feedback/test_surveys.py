"""Survey pages: answering at /s/<slug>, the results page, the editor, surveys from config."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from core.config import RawConfig
from core.models import Role
from feedback.models import Feedback, FeedbackKind, SurveyResponse
from tests.conftest import csrf_token_from, login

NPS_SURVEY = {
    "slug": "acme-nps",
    "kind": "nps",
    "title": "How are we doing?",
    "question": "How likely are you to recommend Acme?",
    "extra_questions": [
        {"id": "areas", "label": "Which areas need work?", "type": "multi",
         "choices": ["Exports", "Login"]},
        {"id": "plan", "label": "Your plan", "type": "choice", "choices": ["free", "pro"]},
    ],
}  # fmt: skip


@pytest.fixture
def raw_config() -> RawConfig:
    closed = {"slug": "old", "kind": "csat", "title": "Old", "active": False}
    return RawConfig(data={"feedback": {"surveys": [NPS_SURVEY, closed]}})


def _answer(client, slug="acme-nps", **fields):
    token = csrf_token_from(client.get(f"/s/{slug}").get_data(as_text=True))
    return client.post(f"/s/{slug}", data={"csrf_token": token, **fields})


def _responses(engine) -> list[SurveyResponse]:
    with Session(engine) as s:
        return list(s.exec(select(SurveyResponse).order_by(SurveyResponse.id)).all())


def test_a_config_survey_is_public_with_its_question_and_scale(client):
    page = client.get("/s/acme-nps")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "How likely are you to recommend Acme?" in html
    assert html.count('name="score"') == 11  # 0..10
    assert "Which areas need work?" in html and "Why? What is the main reason" in html


def test_an_answer_is_stored_and_its_comment_enters_the_inbox(client, engine):
    response = _answer(
        client, score="3", comment="Login loops", q_areas=["Exports", "Login"], q_plan="pro"
    )
    assert response.status_code == 200 and "Thank you" in response.get_data(as_text=True)
    [stored] = _responses(engine)
    assert stored.score == 3 and stored.comment == "Login loops"
    assert json.loads(stored.answers) == {"areas": ["Exports", "Login"], "plan": "pro"}
    with Session(engine) as s:
        [item] = s.exec(select(Feedback)).all()
    assert (item.kind, item.source, item.rating) == (FeedbackKind.SURVEY, "survey:acme-nps", 3.0)
    assert item.survey_response_id == stored.id


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Please pick a score from 0 to 10."),
        ({"score": "11"}, "The score must be from 0 to 10; 11 is outside."),
        ({"score": "ten"}, "The score must be a whole number from 0 to 10."),
        ({"score": "5", "q_plan": "enterprise"}, "“enterprise” is not one of the choices."),
    ],
)
def test_a_bad_answer_is_refused_with_a_message(client, engine, fields, message):
    response = _answer(client, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _responses(engine) == []


def test_an_answer_without_csrf_token_is_refused(client, engine):
    assert client.get("/s/acme-nps").status_code == 200
    response = client.post("/s/acme-nps", data={"score": "9"})
    assert response.status_code == 400
    assert _responses(engine) == []


def test_unknown_and_closed_surveys(client):
    assert client.get("/s/nope").status_code == 404
    closed = client.get("/s/old")
    assert closed.status_code == 410 and "closed" in closed.get_data(as_text=True)


def test_the_survey_rate_limit(client, engine):
    codes = [_answer(client, score="9").status_code for _ in range(11)]
    assert codes[-1] == 429 and codes[:10] == [200] * 10


def test_the_results_page_shows_the_hand_computed_nps(client, engine, make_user):
    for score in (10, 6, 8, 3, 9):
        assert _answer(client, score=str(score), q_plan="pro").status_code == 200
    login(client, "vera", make_user("vera", Role.VIEWER))
    html = client.get("/feedback/surveys/acme-nps").get_data(as_text=True)
    # 2 promoters, 2 detractors of 5 -> NPS 0; SE = sqrt(0.8 / 5) = 0.4 -> +/- 78.4
    assert '<span class="stat">0.0</span>' in html
    assert "n = 5, 95 % CI -78.4 \u2013 78.4" in html
    assert "plotly" in html and '"type":"bar"' in html
    assert "By “Your plan”" in html
    listing = client.get("/feedback/surveys/").get_data(as_text=True)
    assert "from config" in listing and "/s/acme-nps" in listing


def test_an_editor_creates_a_csat_survey_and_a_viewer_cannot(client, engine, make_user):
    login(client, "ed", make_user("ed", Role.EDITOR))
    page = client.get("/feedback/surveys/new").get_data(as_text=True)
    form = {
        "csrf_token": csrf_token_from(page),
        "slug": "support-csat",
        "kind": "csat",
        "title": "Support",
        "active": "on",
        "extra_questions": "channel | How did you reach us? | choice | chat, mail",
    }
    created = client.post("/feedback/surveys/new", data=form)
    assert created.status_code == 302
    taken = client.get("/s/support-csat").get_data(as_text=True)
    assert taken.count('name="score"') == 5 and "How did you reach us?" in taken
    bad = client.post("/feedback/surveys/new", data={**form, "slug": "Bad Slug!"})
    assert bad.status_code == 400 and "must be 1-80 lower-case letters" in bad.get_data(
        as_text=True
    )
    client.post("/logout", data={"csrf_token": csrf_token_from(page)})
    login(client, "vic", make_user("vic", Role.VIEWER))
    assert client.post("/feedback/surveys/new", data=form).status_code == 403


@pytest.mark.parametrize(
    "raw_config", [RawConfig(data={"feedback": {"surveys": [{"slug": "x", "kind": "stars"}]}})]
)
def test_a_bad_survey_in_the_config_file_is_named_on_the_page(auth_client):
    html = auth_client.get("/feedback/surveys/").get_data(as_text=True)
    assert "feedback.surveys[1]: x: kind must be nps, csat or ces" in html


def test_an_editor_edits_a_survey_but_not_one_from_the_config_file(client, make_user):
    login(client, "ed", make_user("ed", Role.EDITOR))
    page = client.get("/feedback/surveys/new").get_data(as_text=True)
    token = csrf_token_from(page)
    new = {"csrf_token": token, "slug": "ces-1", "kind": "ces", "title": "Effort", "active": "on"}
    assert client.post("/feedback/surveys/new", data=new).status_code == 302
    form = client.get("/feedback/surveys/ces-1/edit").get_data(as_text=True)
    assert 'value="Effort"' in form
    saved = client.post(
        "/feedback/surveys/ces-1/edit", data={"csrf_token": token, "title": "Effort score"}
    )
    assert saved.status_code == 302
    closed = client.get("/s/ces-1")  # "active" was not ticked: the survey is closed now
    assert closed.status_code == 410 and "Effort score" in closed.get_data(as_text=True)
    from_config = client.get("/feedback/surveys/acme-nps/edit")
    assert from_config.status_code == 302
    assert "defined in the config file" in client.get(from_config.headers["Location"]).get_data(
        as_text=True
    )
