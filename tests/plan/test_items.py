"""People's changes to items: create, edit, merge, split, bulk status."""

from datetime import timedelta

import pytest
from sqlmodel import select

from feedback.models import Survey, SurveyResponse
from plan.errors import ItemError, ItemNotFound
from plan.evidence import NewEvidence, add_evidence
from plan.items import (
    create_item,
    edit_item,
    get_item,
    item_evidence,
    merge_items,
    set_status,
    split_item,
)
from plan.models import EvidenceKind, Item
from plan.triage import triage
from tests.plan.conftest import NOW


def _ev(n, kind=EvidenceKind.FEEDBACK):
    return NewEvidence(kind, str(n), NOW, people=1, reporter=f"p{n}", summary=f"post {n}")


def test_merge_moves_evidence_without_duplicates_and_marks_the_sources(session, cfg):
    a = create_item(session, title="slow checkout", kind="bug", service="webshop", now=NOW)
    b = create_item(session, title="checkout timeouts", kind="bug", service="webshop", now=NOW)
    add_evidence(session, a.id, [_ev(1), _ev(2)], NOW)
    add_evidence(session, b.id, [_ev(2), _ev(3)], NOW)
    merge_items(session, a.id, [b.id], NOW + timedelta(hours=1))
    session.commit()
    assert sorted(e.ref_id for e in item_evidence(session, a.id)) == ["1", "2", "3"]
    assert item_evidence(session, b.id) == []
    merged = get_item(session, b.id)
    assert merged.merged_into_id == a.id and merged.status == "declined"
    with pytest.raises(ItemError, match="merged into item"):
        edit_item(session, b.id, {"title": "x"}, cfg, NOW)
    with pytest.raises(ItemError, match="at least one other item"):
        merge_items(session, a.id, [a.id], NOW)


def test_split_moves_the_chosen_evidence_into_a_new_item(session):
    a = create_item(session, title="checkout problems", kind="bug", service="webshop", now=NOW)
    add_evidence(session, a.id, [_ev(1), _ev(2), _ev(3)], NOW)
    rows = item_evidence(session, a.id)
    chosen = [r.id for r in rows if r.ref_id in {"2", "3"}]
    new = split_item(session, a.id, chosen, "coupon field broken", NOW)
    session.commit()
    assert (new.kind, new.service, new.title) == ("bug", "webshop", "coupon field broken")
    assert sorted(e.ref_id for e in item_evidence(session, new.id)) == ["2", "3"]
    assert [e.ref_id for e in item_evidence(session, a.id)] == ["1"]
    with pytest.raises(ItemError, match="is not on item"):
        split_item(session, a.id, [item_evidence(session, a.id)[0].id, 999999], "x", NOW)


def test_bulk_status_is_all_or_nothing_and_released_starts_the_watch_window(session, cfg):
    a = create_item(session, title="a", kind="task", now=NOW)
    b = create_item(session, title="b", kind="task", now=NOW)
    session.commit()
    with pytest.raises(ItemNotFound):
        set_status(session, [a.id, 424242], "planned", cfg, NOW)
    session.rollback()
    assert {i.status for i in session.exec(select(Item))} == {"new"}
    with pytest.raises(ItemError, match="status must be one of"):
        set_status(session, [a.id], "done", cfg, NOW)
    set_status(session, [a.id, b.id], "released", cfg, NOW)
    assert get_item(session, a.id).verify_after == NOW + timedelta(seconds=cfg.watch_window_s)


def test_a_survey_answer_in_a_theme_is_survey_evidence(session, cfg, make_theme, make_feedback):
    survey = Survey(slug="nps", kind="nps", title="NPS", question="Recommend us?", created_at=NOW)
    session.add(survey)
    session.flush()
    theme = make_theme("checkout is slow")
    for n in range(5):
        answer = SurveyResponse(survey_id=survey.id, external_id=f"r{n}", score=2, created_at=NOW)
        session.add(answer)
        session.flush()
        fb = make_feedback(theme=theme, email=f"s{n}@x.org")
        fb.survey_response_id = answer.id
        session.add(fb)
    session.commit()
    triage(session, cfg, [], NOW)
    (item,) = session.exec(select(Item)).all()
    kinds = {e.kind for e in item_evidence(session, item.id)}
    assert kinds == {"survey"}
