"""Survey pages for the team: the list, the editor, and each survey's results with charts."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core.models import Role
from feedback.errors import SurveyError
from feedback.models import Survey, SurveyKind
from feedback.survey_responses import SurveyResults, survey_results
from feedback.surveys import (
    SurveySpec,
    create_survey,
    get_survey,
    list_surveys,
    parse_spec,
    spec_of,
    update_survey,
)
from web.feedback_runtime import config_survey_slugs, ensure_config_surveys
from web.security import require_role
from web.state import db, runtime

bp = Blueprint("surveys", __name__, url_prefix="/feedback/surveys")

KIND_LABELS = {"nps": "NPS (0-10)", "csat": "CSAT (1-5)", "ces": "CES (1-7)"}


@bp.get("/")
def index() -> ResponseReturnValue:
    error = ensure_config_surveys()
    if error:
        flash(f"The surveys of the config file could not be read: {error}", "error")
    session = db()
    rows = []
    for survey in list_surveys(session):
        rows.append((survey, survey_results(session, survey, spec_of(survey)).summary))
    return render_template(
        "feedback/surveys.html", rows=rows, from_config=config_survey_slugs(), kinds=KIND_LABELS
    )


@bp.route("/new", methods=["GET", "POST"])
@require_role(Role.EDITOR)
def new() -> ResponseReturnValue:
    values: dict[str, Any] = {"kind": "nps", "active": True}
    if request.method == "POST":
        values = dict(request.form)
        try:
            spec = parse_spec(_spec_data(request.form))
            session = db()
            create_survey(session, spec, runtime().now())
            session.commit()
        except SurveyError as exc:
            return _editor(None, values, str(exc)), 400
        flash(f"Survey “{spec.title}” created; it is public at /s/{spec.slug}.")
        return redirect(url_for("surveys.results", slug=spec.slug))
    return _editor(None, values, None)


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@require_role(Role.EDITOR)
def edit(slug: str) -> ResponseReturnValue:
    survey = _survey_or_404(slug)
    if slug in config_survey_slugs():
        flash("This survey is defined in the config file; change it there.", "error")
        return redirect(url_for("surveys.results", slug=slug))
    values = _values_of(spec_of(survey))
    if request.method == "POST":
        values = {**dict(request.form), "slug": slug, "kind": survey.kind}
        try:
            spec = parse_spec(_spec_data(request.form, slug=slug, kind=survey.kind))
            session = db()
            update_survey(session, survey, spec)
            session.commit()
        except SurveyError as exc:
            return _editor(survey, values, str(exc)), 400
        flash("Survey saved.")
        return redirect(url_for("surveys.results", slug=slug))
    return _editor(survey, values, None)


@bp.get("/<slug>")
def results(slug: str) -> ResponseReturnValue:
    survey = _survey_or_404(slug)
    spec = spec_of(survey)
    found = survey_results(db(), survey, spec)
    return render_template(
        "feedback/survey_results.html",
        survey=survey,
        spec=spec,
        results=found,
        kinds=KIND_LABELS,
        from_config=slug in config_survey_slugs(),
        public_url=runtime().settings.public_url + url_for("surveys_public.take", slug=slug),
        distribution_json=_distribution_figure(found).to_json(),
        trend_json=_trend_figure(SurveyKind(survey.kind), found).to_json(),
    )


def _survey_or_404(slug: str) -> Survey:
    ensure_config_surveys()
    survey = get_survey(db(), slug)
    if survey is None:
        abort(404, description=f"There is no survey called “{slug}”.")
    return survey


def _editor(survey: Survey | None, values: dict[str, Any], error: str | None) -> str:
    return render_template(
        "feedback/survey_edit.html", survey=survey, values=values, error=error, kinds=KIND_LABELS
    )


def _spec_data(form: Any, slug: str | None = None, kind: str | None = None) -> dict[str, Any]:
    return {
        "slug": slug or form.get("slug", ""),
        "kind": kind or form.get("kind", ""),
        "title": form.get("title", ""),
        "question": form.get("question", ""),
        "service": form.get("service", ""),
        "active": form.get("active") == "on",
        "extra_questions": parse_question_lines(form.get("extra_questions", "")),
    }


def parse_question_lines(text: str) -> list[dict[str, Any]]:
    """One question per line: `id | label | text|choice|multi | choice, choice, ...`."""
    questions = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 2:
            raise SurveyError(f"extra question line {number}: write `id | label | type | choices`")
        questions.append(
            {
                "id": parts[0],
                "label": parts[1],
                "type": parts[2] if len(parts) > 2 and parts[2] else "text",
                "choices": [c.strip() for c in parts[3].split(",")] if len(parts) > 3 else [],
            }
        )
    return questions


def _values_of(spec: SurveySpec) -> dict[str, Any]:
    lines = [
        " | ".join([q.id, q.label, q.type.value, ", ".join(q.choices)]).rstrip(" |")
        for q in spec.extra_questions
    ]
    return {
        "slug": spec.slug,
        "kind": spec.kind.value,
        "title": spec.title,
        "question": spec.question,
        "service": spec.service or "",
        "active": spec.active,
        "extra_questions": "\n".join(lines),
    }


def _distribution_figure(found: SurveyResults) -> go.Figure:
    xs = [str(score) for score, _ in found.distribution]
    ys = [count for _, count in found.distribution]
    fig = go.Figure(go.Bar(x=xs, y=ys, marker_color="#2f6fed"))
    fig.update_layout(
        margin={"l": 40, "r": 10, "t": 30, "b": 40},
        title="Answers per score",
        xaxis_title="score",
        yaxis_title="answers",
    )
    return fig


def _trend_figure(kind: SurveyKind, found: SurveyResults) -> go.Figure:
    points = [p.summary for p in found.trend if p.summary.value is not None]
    value = [s.value or 0.0 for s in points]
    # no interval (a single CES answer): a zero-length error bar
    upper = [(s.high if s.high is not None else v) - v for s, v in zip(points, value, strict=True)]
    lower = [v - (s.low if s.low is not None else v) for s, v in zip(points, value, strict=True)]
    weeks = [p.week_start.isoformat() for p in found.trend if p.summary.value is not None]
    fig = go.Figure(
        go.Scatter(
            x=weeks,
            y=value,
            mode="lines+markers",
            error_y={"type": "data", "symmetric": False, "array": upper, "arrayminus": lower},
            text=[f"n = {s.n}" for s in points],
            hovertemplate="week of %{x}: %{y:.1f} (%{text})<extra></extra>",
        )
    )
    names = {SurveyKind.NPS: "NPS", SurveyKind.CSAT: "CSAT %", SurveyKind.CES: "CES mean"}
    fig.update_layout(
        margin={"l": 40, "r": 10, "t": 30, "b": 40},
        title="Weekly score with 95 % interval",
        yaxis_title=names[kind],
    )
    return fig
