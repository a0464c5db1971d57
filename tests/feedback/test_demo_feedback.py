"""The demo feedback stream and the feedback jobs that run it."""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from feedback.analysis import Analyser
from feedback.analysis_models import Theme
from feedback.demo import SURVEY_SLUG, add_demo_feedback, demo_batch
from feedback.models import Feedback, FeedbackKind, SurveyResponse
from opsloop.jobs import feedback_jobs

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_a_batch_depends_only_on_the_seed_and_now():
    first, again = demo_batch(NOW), demo_batch(NOW)
    assert [p.text for p in first.posts] == [p.text for p in again.posts]
    assert [p.external_id for p in first.posts] == [p.external_id for p in again.posts]
    texts_over_time = {
        p.text for i in range(60) for p in demo_batch(NOW + timedelta(seconds=20 * i)).posts
    }
    assert len(texts_over_time) > 10


def test_the_stream_talks_about_the_demo_shop_incidents():
    posts = [p for i in range(90) for p in demo_batch(NOW + timedelta(seconds=20 * i)).posts]
    shop = [p for p in posts if p.service == "webshop"]
    assert 0.15 < len(shop) / len(posts) < 0.6
    analyser = Analyser()
    negative = [p for p in shop if analyser.analyse(p.text).sentiment < 0]
    assert len(negative) > len(shop) / 2
    assert all(p.kind == FeedbackKind.DEMO for p in posts)


def test_stored_demo_feedback_is_idempotent_and_includes_survey_answers(session):
    added = sum(
        add_demo_feedback(session, NOW + timedelta(seconds=20 * i), Analyser()) for i in range(30)
    )
    rows = session.exec(select(Feedback)).all()
    answers = session.exec(select(SurveyResponse)).all()
    posts = [r for r in rows if r.source == "demo"]
    assert answers and added == len(posts) + len(answers)
    assert any(r.source == f"survey:{SURVEY_SLUG}" for r in rows)  # answers' comments
    assert {r.kind for r in rows} == {FeedbackKind.DEMO}
    assert add_demo_feedback(session, NOW, Analyser()) == 0


def test_the_demo_and_clustering_jobs_fill_the_inbox_and_themes(runtime, engine):
    runtime.demo = True
    jobs = {job.name: job for job in feedback_jobs(runtime)}
    assert {"feedback.demo", "feedback.themes"} <= set(jobs)
    for i in range(10):
        runtime.clock = lambda i=i: NOW + timedelta(seconds=20 * i)
        jobs["feedback.demo"].func(runtime)
    jobs["feedback.themes"].func(runtime)
    with Session(engine) as s:
        assert s.exec(select(Feedback).where(Feedback.theme_id.is_(None))).all() == []
        themes = s.exec(select(Theme)).all()
    assert themes and any(t.service == "webshop" for t in themes)


def test_without_demo_there_is_no_demo_job(runtime):
    assert "feedback.demo" not in {job.name for job in feedback_jobs(runtime)}
