"""Public survey pages (/s/<slug>): the NPS, CSAT or CES question, extra questions, thanks."""

from __future__ import annotations

import hashlib

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests

from feedback.errors import ValidationError
from feedback.forms import HONEYPOT_FIELD, is_bot
from feedback.models import Survey
from feedback.survey_responses import NewResponse, record_responses, validate_submission
from feedback.survey_stats import scale
from feedback.surveys import SurveySpec, get_survey, spec_of
from web.extensions import limiter
from web.feedback_runtime import ensure_config_surveys, feedback_analyser, known_services
from web.security import public
from web.state import db, runtime

bp = Blueprint("surveys_public", __name__)

SURVEY_MAX_BYTES = 64 * 1024
SURVEY_RATE_LIMIT = "10 per minute;100 per day"
SCALE_ENDS = {
    "nps": ("Not at all likely", "Extremely likely"),
    "csat": ("Very unsatisfied", "Very satisfied"),
    "ces": ("Very difficult", "Very easy"),
}
COMMENT_PROMPTS = {
    "nps": "Why? What is the main reason for your score?",
    "csat": "Anything you would like to tell us?",
    "ces": "What made it easy or hard?",
}


@bp.url_value_preprocessor
def _limit_body(_endpoint: str | None, _values: dict[str, object] | None) -> None:
    # before the CSRF check reads the form: refuse an oversized body before parsing it
    request.max_content_length = SURVEY_MAX_BYTES


@bp.route("/s/<slug>", methods=["GET", "POST"])
@public
@limiter.limit(SURVEY_RATE_LIMIT, methods=["POST"])
def take(slug: str) -> ResponseReturnValue:
    ensure_config_surveys()
    survey = get_survey(db(), slug)
    if survey is None:
        abort(404, description=f"There is no survey called “{slug}”.")
    spec = spec_of(survey)
    if not survey.active:
        return render_template("feedback/survey_closed.html", survey=survey), 410
    if request.method == "GET":
        return _render(survey, spec, {}, {"service": request.args.get("service", "")})
    form = request.form
    if is_bot(form):
        return render_template("feedback/survey_thanks.html", survey=survey)
    data = {key: form.getlist(key) if key.startswith("q_") else form.get(key) for key in form}
    try:
        score, comment, answers, service = validate_submission(spec, data, known_services())
    except ValidationError as exc:
        return _render(survey, spec, exc.errors, form)
    # the same rendered form sent twice (double click, reload) is one response
    token = form.get("csrf_token", "")
    digest = hashlib.sha256(f"{token}\x1f{score}\x1f{comment}".encode()).hexdigest()
    now = runtime().now()
    response = NewResponse(
        external_id=f"web:{digest}",
        score=score,
        created_at=now,
        comment=comment,
        answers=answers,
        service=service,
    )
    session = db()
    record_responses(session, survey, [response], now, feedback_analyser())
    session.commit()
    return render_template("feedback/survey_thanks.html", survey=survey)


def _render(
    survey: Survey, spec: SurveySpec, errors: dict[str, str], values: object
) -> tuple[str, int]:
    low, high = scale(spec.kind)
    html = render_template(
        "feedback/survey_take.html",
        survey=survey,
        spec=spec,
        errors=errors,
        values=values,
        points=range(low, high + 1),
        ends=SCALE_ENDS[spec.kind.value],
        comment_prompt=COMMENT_PROMPTS[spec.kind.value],
        services=[] if spec.service else known_services(),
        honeypot=HONEYPOT_FIELD,
    )
    return html, 400 if errors else 200


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> ResponseReturnValue:
    message = f"Your answer is too large: a survey accepts at most {SURVEY_MAX_BYTES // 1024} KB."
    return render_template("errors/error.html", code=413, title="Too large", message=message), 413


@bp.errorhandler(TooManyRequests)
def _too_many(_exc: TooManyRequests) -> ResponseReturnValue:
    message = "Too many answers from your address in a short time. Please try again later."
    return render_template("errors/error.html", code=429, title="Slow down", message=message), 429
