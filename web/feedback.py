"""The feedback inbox: filters, pages, links to the original posts, marking spam."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from core.models import Role
from feedback.inbox import (
    InboxFilter,
    count_feedback,
    counts_by,
    distinct_values,
    list_feedback,
    set_spam,
    theme_labels,
)
from feedback.models import Feedback, Sentiment, SurveyResponse
from web.security import require_role
from web.state import db, runtime

bp = Blueprint("feedback", __name__, url_prefix="/feedback")

PER_PAGE = 50
FILTER_KEYS = ("source", "service", "sentiment", "theme", "since", "until", "spam")


class FilterError(ValueError):
    """A filter value in the query string that cannot be used; the message names it."""


@bp.get("/inbox")
def index() -> ResponseReturnValue:
    args = request.args
    values = {key: args.get(key, "") for key in FILTER_KEYS}
    error = None
    try:
        filters = parse_filters(values)
    except FilterError as exc:
        error, filters = str(exc), InboxFilter()
    page_number = _page_number(args.get("page", "1"))
    session = db()
    found = list_feedback(session, filters, page=page_number, per_page=PER_PAGE)
    html = render_template(
        "feedback/index.html",
        page=found,
        values=values,
        error=error,
        sources=distinct_values(session, "source"),
        services=distinct_values(session, "service"),
        themes=theme_labels(session),
        sentiments=[s.value for s in Sentiment],
        total=count_feedback(session),
        by_sentiment=counts_by(session, "sentiment_label"),
        spam_count=count_feedback(session, InboxFilter(spam_only=True)),
        themes_url=_themes_url(),
        query={k: v for k, v in values.items() if v},
        embed_url=runtime().settings.public_url + url_for("feedback_public.embed"),
        form_url=runtime().settings.public_url + url_for("feedback_public.form"),
    )
    return html, 400 if error else 200


@bp.get("/inbox/<int:feedback_id>")
def detail(feedback_id: int) -> ResponseReturnValue:
    session = db()
    item = session.get(Feedback, feedback_id)
    if item is None:
        abort(404, description=f"There is no feedback {feedback_id}.")
    response = (
        session.get(SurveyResponse, item.survey_response_id) if item.survey_response_id else None
    )
    return render_template(
        "feedback/detail.html",
        item=item,
        theme=theme_labels(session).get(item.theme_id) if item.theme_id else None,
        survey_response=response,
        answers=json.loads(response.answers) if response else {},
    )


@bp.post("/inbox/<int:feedback_id>/spam")
@require_role(Role.EDITOR)
def mark_spam(feedback_id: int) -> ResponseReturnValue:
    spam = request.form.get("spam", "1") == "1"
    session = db()
    item = set_spam(session, feedback_id, spam)
    if item is None:
        abort(404, description=f"There is no feedback {feedback_id}.")
    session.commit()
    flash(f"Feedback {feedback_id} {'marked as spam' if spam else 'restored from spam'}.")
    return redirect(_safe_back(request.form.get("next")))


def parse_filters(values: dict[str, str]) -> InboxFilter:
    sentiment = None
    if values.get("sentiment"):
        try:
            sentiment = Sentiment(values["sentiment"])
        except ValueError:
            raise FilterError(f"sentiment {values['sentiment']!r} is not one of "
                              f"{', '.join(s.value for s in Sentiment)}") from None  # fmt: skip
    theme_id = None
    if values.get("theme"):
        if not values["theme"].isdigit():
            raise FilterError(f"theme {values['theme']!r} is not a theme number")
        theme_id = int(values["theme"])
    since = _day(values.get("since", ""), "since")
    until = _day(values.get("until", ""), "until")
    spam = values.get("spam", "")
    if spam not in {"", "include", "only"}:
        raise FilterError(f"spam {spam!r} must be include or only")
    return InboxFilter(
        source=values.get("source") or None,
        service=values.get("service") or None,
        sentiment=sentiment,
        theme_id=theme_id,
        since=since,
        # "until" is a day shown inclusive: everything before the next midnight
        until=until + timedelta(days=1) if until else None,
        include_spam=spam == "include",
        spam_only=spam == "only",
    )


def _day(raw: str, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.combine(date.fromisoformat(raw), time(), tzinfo=UTC)
    except ValueError:
        raise FilterError(f"{name} {raw!r} is not a date like 2026-03-02") from None


def _page_number(raw: str) -> int:
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


def _safe_back(target: str | None) -> str:
    """Back to the inbox page the button was on, never to another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("feedback.index")


def _themes_url() -> str | None:
    """The theme view (added by the analysis side of the package) when it is installed."""
    for endpoint in ("themes.index", "feedback_themes.index"):
        if endpoint in current_app.view_functions:
            return url_for(endpoint)
    return None
