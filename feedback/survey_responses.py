"""Survey answers: validating a submission, storing responses once, and the results of a survey.

A response's free-text comment also enters the feedback inbox (source `survey:<slug>`),
linked to the response, so that it is analysed and clustered with everything else.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists
from sqlmodel import Session, col, select

from core.db import insert_ignore
from feedback.analysis import Analyser
from feedback.errors import ValidationError
from feedback.forms import validate_email
from feedback.ingest import MAX_TEXT_CHARS, NewFeedback, ingest
from feedback.models import Feedback, FeedbackKind, Survey, SurveyKind, SurveyResponse
from feedback.survey_stats import (
    ScoreSummary,
    WeekPoint,
    breakdown,
    distribution,
    scale,
    summarise,
    weekly_trend,
)
from feedback.surveys import QuestionType, SurveySpec

MAX_COMMENT_CHARS = 5000
MAX_ANSWER_CHARS = 500
MAX_BREAKDOWN_VALUES = 30  # an answer with more distinct values is free text, not a group
INSERT_CHUNK = 500


@dataclass
class NewResponse:
    external_id: str
    score: int
    created_at: datetime
    comment: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    service: str | None = None
    email: str | None = None


@dataclass
class RecordResult:
    added: int = 0
    duplicates: int = 0
    comments_added: int = 0


@dataclass(frozen=True)
class SurveyResults:
    summary: ScoreSummary
    distribution: list[tuple[int, int]]
    trend: list[WeekPoint]
    by_service: list[tuple[str, ScoreSummary]]
    by_answer: dict[str, list[tuple[str, ScoreSummary]]]  # question label -> groups
    comments: int


def validate_submission(
    spec: SurveySpec, data: Mapping[str, Any], services: Collection[str]
) -> tuple[int, str | None, dict[str, Any], str | None]:
    """(score, comment, answers, service) from a web form; ValidationError per bad field.

    `data` maps field names to a string, or to a list of strings for multi questions.
    """
    errors: dict[str, str] = {}
    low, high = scale(spec.kind)
    raw_score = str(data.get("score") or "").strip()
    score = -1
    if not raw_score:
        errors["score"] = f"Please pick a score from {low} to {high}."
    else:
        try:
            score = int(raw_score)
        except ValueError:
            errors["score"] = f"The score must be a whole number from {low} to {high}."
        else:
            if not low <= score <= high:
                errors["score"] = f"The score must be from {low} to {high}; {score} is outside."
    comment = str(data.get("comment") or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT_CHARS:
        errors["comment"] = f"At most {MAX_COMMENT_CHARS} characters, please ({len(comment)} now)."
    answers: dict[str, Any] = {}
    for question in spec.extra_questions:
        value = data.get(f"q_{question.id}")
        try:
            answer = _answer(question.type, question.choices, value)
        except ValueError as exc:
            errors[f"q_{question.id}"] = str(exc)
            continue
        if answer:
            answers[question.id] = answer
    service = spec.service or (str(data.get("service") or "").strip() or None)
    if service is not None and not spec.service and service not in services:
        errors["service"] = "Choose a service from the list (or leave it empty)."
    if errors:
        raise ValidationError(errors)
    return score, comment, answers, service


def _answer(qtype: QuestionType, choices: Sequence[str], value: Any) -> str | list[str] | None:
    if qtype is QuestionType.MULTI:
        picked = [str(v) for v in (value if isinstance(value, list) else [value]) if v]
        wrong = [v for v in picked if v not in choices]
        if wrong:
            raise ValueError(f"“{wrong[0][:40]}” is not one of the choices.")
        return picked or None
    text = str(value[0] if isinstance(value, list) and value else value or "").strip()
    if not text:
        return None
    if qtype is QuestionType.CHOICE and text not in choices:
        raise ValueError(f"“{text[:40]}” is not one of the choices.")
    if len(text) > MAX_ANSWER_CHARS:
        raise ValueError(f"At most {MAX_ANSWER_CHARS} characters, please.")
    return text


def record_responses(
    session: Session,
    survey: Survey,
    responses: Sequence[NewResponse],
    now: datetime,
    analyser: Analyser,
    kind: FeedbackKind = FeedbackKind.SURVEY,
) -> RecordResult:
    """Store responses not stored yet (by external id) and send their comments to the inbox."""
    result = RecordResult()
    unique: dict[str, NewResponse] = {}
    for response in responses:
        unique.setdefault(response.external_id, response)
    result.duplicates = len(responses) - len(unique)
    items = list(unique.values())
    added_ids: dict[str, int] = {}
    for start in range(0, len(items), INSERT_CHUNK):
        added_ids.update(_insert_responses(session, survey, items[start : start + INSERT_CHUNK]))
    result.added = len(added_ids)
    result.duplicates += len(items) - result.added
    comments = [
        NewFeedback(
            source=f"survey:{survey.slug}",
            kind=kind,
            text=r.comment[:MAX_TEXT_CHARS],
            external_id=r.external_id,
            email=r.email,
            rating=float(r.score),
            created_at=r.created_at,
            service=r.service,
            survey_response_id=added_ids[r.external_id],
        )
        for r in items
        if r.external_id in added_ids and r.comment
    ]
    result.comments_added = ingest(session, comments, now, analyser).added
    return result


def _insert_responses(session: Session, survey: Survey, items: list[NewResponse]) -> dict[str, int]:
    table = SurveyResponse.__table__  # type: ignore[attr-defined]
    rows = [
        {
            "survey_id": survey.id,
            "external_id": r.external_id,
            "score": r.score,
            "answers": json.dumps(r.answers, ensure_ascii=False, sort_keys=True),
            "comment": r.comment,
            "service": r.service or survey.service,
            "created_at": r.created_at,
        }
        for r in items
    ]
    if not rows:
        return {}
    stmt = insert_ignore(session, table, ["survey_id", "external_id"]).returning(
        table.c.id, table.c.external_id
    )
    # parameters apart from the statement: batched by SQLAlchemy, compiled once (cached)
    return {ext: rid for rid, ext in session.execute(stmt, rows).all()}


def existing_external_ids(session: Session, survey: Survey, ids: Collection[str]) -> set[str]:
    """Which of these response ids are stored already (for a dry run)."""
    found: set[str] = set()
    wanted = list(ids)
    for start in range(0, len(wanted), INSERT_CHUNK):
        chunk = wanted[start : start + INSERT_CHUNK]
        query = select(SurveyResponse.external_id).where(
            SurveyResponse.survey_id == survey.id, col(SurveyResponse.external_id).in_(chunk)
        )
        found.update(session.exec(query).all())
    return found


def counted_responses(session: Session, survey: Survey) -> list[SurveyResponse]:
    """The survey's responses, without those whose comment was marked as spam."""
    spam = exists().where(
        and_(col(Feedback.survey_response_id) == SurveyResponse.id, col(Feedback.spam).is_(True))
    )
    query = (
        select(SurveyResponse)
        .where(SurveyResponse.survey_id == survey.id, ~spam)
        .order_by(col(SurveyResponse.created_at))
    )
    return list(session.exec(query).all())


def survey_results(session: Session, survey: Survey, spec: SurveySpec) -> SurveyResults:
    responses = counted_responses(session, survey)
    kind = SurveyKind(survey.kind)
    scores = [r.score for r in responses]
    by_service: dict[str, list[int]] = defaultdict(list)
    for r in responses:
        by_service[r.service or "(none)"].append(r.score)
    return SurveyResults(
        summary=summarise(kind, scores),
        distribution=distribution(kind, scores),
        trend=weekly_trend(kind, [(r.created_at, r.score) for r in responses]),
        by_service=breakdown(kind, by_service),
        by_answer=_by_answer(kind, spec, responses),
        comments=sum(1 for r in responses if r.comment),
    )


def _by_answer(
    kind: SurveyKind, spec: SurveySpec, responses: Sequence[SurveyResponse]
) -> dict[str, list[tuple[str, ScoreSummary]]]:
    labels = {q.id: q.label for q in spec.extra_questions}
    groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for r in responses:
        for key, value in json.loads(r.answers or "{}").items():
            for one in value if isinstance(value, list) else [value]:
                groups[labels.get(key, key)][str(one)].append(r.score)
    return {
        label: breakdown(kind, values)
        for label, values in sorted(groups.items())
        if len(values) <= MAX_BREAKDOWN_VALUES
    }


def clean_email(raw: str | None) -> str | None:
    """A valid address or None: survey exports carry junk in e-mail columns at times."""
    try:
        return validate_email(raw or "")
    except ValueError:
        return None
