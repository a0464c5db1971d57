"""Survey definitions: validation, the `feedback: surveys:` config section, create and update.

```yaml
feedback:
  surveys:
    - slug: checkout-nps            # public at /s/checkout-nps
      kind: nps                     # nps (0-10) | csat (1-5) | ces (1-7)
      title: How are we doing?
      question: How likely are you to recommend Acme to a friend or colleague?
      service: webshop              # optional
      extra_questions:              # optional
        - {id: plan, label: Which plan are you on?, type: choice, choices: [free, pro]}
        - {id: areas, label: Which areas need work?, type: multi, choices: [Exports, Login]}
        - {id: role, label: What is your role?, type: text}
```

Surveys from the config file are written to the database when first needed; the config
file stays their source of truth (the editor page shows them read-only).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, select

from core.config import RawConfig
from feedback.errors import FeedbackConfigError, SurveyError
from feedback.models import Survey, SurveyKind

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
QUESTION_ID = re.compile(r"^[a-z0-9_]{1,40}$")
MAX_EXTRA_QUESTIONS = 10
MAX_CHOICES = 30
DEFAULT_QUESTIONS = {
    SurveyKind.NPS: "How likely are you to recommend us to a friend or colleague?",
    SurveyKind.CSAT: "How satisfied are you with our service?",
    SurveyKind.CES: "How easy was it to get what you needed done?",
}
_SPEC_KEYS = {"slug", "kind", "title", "question", "extra_questions", "service", "active"}


class QuestionType(StrEnum):
    TEXT = "text"
    CHOICE = "choice"  # one of the choices
    MULTI = "multi"  # any of the choices


@dataclass(frozen=True)
class ExtraQuestion:
    id: str
    label: str
    type: QuestionType = QuestionType.TEXT
    choices: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "type": self.type.value,
            "choices": list(self.choices),
        }


@dataclass(frozen=True)
class SurveySpec:
    slug: str
    kind: SurveyKind
    title: str
    question: str
    extra_questions: tuple[ExtraQuestion, ...] = field(default_factory=tuple)
    service: str | None = None
    active: bool = True


def parse_spec(raw: Mapping[str, Any]) -> SurveySpec:
    """A survey definition from plain data (config entry or editor form); SurveyError if bad."""
    unknown = sorted(set(raw) - _SPEC_KEYS)
    if unknown:
        raise SurveyError(f"unknown key(s) {', '.join(unknown)}")
    slug = str(raw.get("slug") or "").strip()
    if not SLUG.match(slug):
        raise SurveyError(
            f"slug {slug!r} must be 1-80 lower-case letters, digits and dashes, starting with "
            "a letter or digit"
        )
    try:
        kind = SurveyKind(str(raw.get("kind") or "").strip().lower())
    except ValueError:
        raise SurveyError(f"{slug}: kind must be nps, csat or ces") from None
    title = str(raw.get("title") or "").strip() or slug
    question = str(raw.get("question") or "").strip() or DEFAULT_QUESTIONS[kind]
    if len(title) > 200 or len(question) > 500:
        raise SurveyError(f"{slug}: the title has at most 200 and the question 500 characters")
    service = raw.get("service")
    service = str(service).strip() or None if service is not None else None
    active = raw.get("active", True)
    if not isinstance(active, bool):
        raise SurveyError(f"{slug}: active must be true or false")
    extras = _parse_extra_questions(slug, raw.get("extra_questions") or [])
    return SurveySpec(slug, kind, title, question, extras, service, active)


def _parse_extra_questions(slug: str, raw: object) -> tuple[ExtraQuestion, ...]:
    if not isinstance(raw, list):
        raise SurveyError(f"{slug}: extra_questions must be a list")
    if len(raw) > MAX_EXTRA_QUESTIONS:
        raise SurveyError(f"{slug}: at most {MAX_EXTRA_QUESTIONS} extra questions")
    found: list[ExtraQuestion] = []
    for position, entry in enumerate(raw, start=1):
        where = f"{slug}: extra question {position}"
        if not isinstance(entry, Mapping):
            raise SurveyError(f"{where} must be a mapping with id, label, type")
        qid = str(entry.get("id") or "").strip()
        if not QUESTION_ID.match(qid) or qid in {"score", "comment", "service"}:
            raise SurveyError(
                f"{where}: id {qid!r} must be 1-40 of a-z, 0-9, _ (not a reserved name)"
            )
        if any(q.id == qid for q in found):
            raise SurveyError(f"{where}: id {qid!r} is used twice")
        label = str(entry.get("label") or "").strip()
        if not label or len(label) > 300:
            raise SurveyError(f"{where}: label must be 1-300 characters")
        try:
            qtype = QuestionType(str(entry.get("type") or "text"))
        except ValueError:
            raise SurveyError(f"{where}: type must be text, choice or multi") from None
        choices = tuple(str(c).strip() for c in entry.get("choices") or [] if str(c).strip())
        if qtype is not QuestionType.TEXT and not 1 <= len(choices) <= MAX_CHOICES:
            raise SurveyError(f"{where}: a {qtype.value} question needs 1-{MAX_CHOICES} choices")
        found.append(
            ExtraQuestion(qid, label, qtype, choices if qtype is not QuestionType.TEXT else ())
        )
    return tuple(found)


def extra_questions(survey: Survey) -> tuple[ExtraQuestion, ...]:
    data = json.loads(survey.extra_questions or "[]")
    return tuple(
        ExtraQuestion(q["id"], q["label"], QuestionType(q["type"]), tuple(q.get("choices", [])))
        for q in data
    )


def spec_of(survey: Survey) -> SurveySpec:
    return SurveySpec(
        survey.slug,
        SurveyKind(survey.kind),
        survey.title,
        survey.question,
        extra_questions(survey),
        survey.service,
        survey.active,
    )


def config_surveys(raw_config: RawConfig) -> list[SurveySpec]:
    """The surveys of the config file; FeedbackConfigError names the file and the entry."""
    where = f"{raw_config.path or '<config>'}: feedback.surveys"
    section = raw_config.section("feedback") or {}
    if not isinstance(section, Mapping):
        raise FeedbackConfigError(f"{raw_config.path or '<config>'}: feedback must be a mapping")
    entries = section.get("surveys") or []
    if not isinstance(entries, list):
        raise FeedbackConfigError(f"{where} must be a list")
    specs: list[SurveySpec] = []
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping):
            raise FeedbackConfigError(f"{where}[{position}] must be a mapping")
        try:
            spec = parse_spec(entry)
        except SurveyError as exc:
            raise FeedbackConfigError(f"{where}[{position}]: {exc}") from exc
        if any(s.slug == spec.slug for s in specs):
            raise FeedbackConfigError(f"{where}[{position}]: slug {spec.slug!r} is used twice")
        specs.append(spec)
    return specs


def sync_config_surveys(session: Session, specs: Sequence[SurveySpec], now: datetime) -> int:
    """Create or update the surveys defined in the config file; returns how many changed."""
    changed = 0
    for spec in specs:
        survey = get_survey(session, spec.slug)
        if survey is None:
            create_survey(session, spec, now)
            changed += 1
        elif spec_of(survey) != spec:
            update_survey(session, survey, spec)
            changed += 1
    return changed


def get_survey(session: Session, slug: str) -> Survey | None:
    return session.exec(select(Survey).where(Survey.slug == slug)).first()


def list_surveys(session: Session) -> list[Survey]:
    return list(session.exec(select(Survey).order_by(Survey.slug)).all())


def create_survey(session: Session, spec: SurveySpec, now: datetime) -> Survey:
    if get_survey(session, spec.slug) is not None:
        raise SurveyError(f"a survey with slug {spec.slug!r} already exists")
    survey = Survey(slug=spec.slug, kind=spec.kind.value, title="", question="", created_at=now)
    _apply(survey, spec)
    session.add(survey)
    session.flush()
    return survey


def update_survey(session: Session, survey: Survey, spec: SurveySpec) -> Survey:
    if spec.slug != survey.slug:
        raise SurveyError("the slug of a survey cannot change (links to it would break)")
    if spec.kind.value != survey.kind:
        raise SurveyError("the kind of a survey cannot change once it exists")
    _apply(survey, spec)
    session.add(survey)
    session.flush()
    return survey


def _apply(survey: Survey, spec: SurveySpec) -> None:
    survey.title = spec.title
    survey.question = spec.question
    survey.extra_questions = json.dumps([q.as_dict() for q in spec.extra_questions])
    survey.service = spec.service
    survey.active = spec.active
