"""The public feedback form (/feedback) and its embeddable variant (/feedback/embed).

The embeddable page lives inside another site's iframe, where browsers do not send our
session cookie (SameSite=Lax), so a session-bound CSRF token cannot work there. It carries
a signed, time-limited form token instead: still proof that the POST comes from a form we
served, without needing a session.
"""

from __future__ import annotations

import hashlib
import logging

from flask import Blueprint, current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests

from feedback.errors import ValidationError
from feedback.forms import HONEYPOT_FIELD, MAX_MESSAGE_CHARS, is_bot, validate_form
from feedback.ingest import NewFeedback, ingest
from feedback.models import FeedbackKind
from web.extensions import limiter
from web.feedback_runtime import feedback_analyser, known_services
from web.security import csrf_exempt, public
from web.state import db, runtime

log = logging.getLogger(__name__)
bp = Blueprint("feedback_public", __name__)

FORM_MAX_BYTES = 64 * 1024
FORM_RATE_LIMIT = "5 per minute;60 per day"
EMBED_TOKEN_MAX_AGE_S = 6 * 3600
_EMBED_SALT = "opsloop-feedback-embed"


@bp.url_value_preprocessor
def _limit_body(endpoint: str | None, _values: dict[str, object] | None) -> None:
    # Runs before every before_request function, including the CSRF check that reads the
    # form, so an oversized body is refused before it is parsed.
    request.max_content_length = FORM_MAX_BYTES
    if endpoint == "feedback_public.embed":
        g.allow_framing = True  # error pages (413, 429) show inside the frame too


@bp.route("/feedback", methods=["GET", "POST"])
@public
@limiter.limit(FORM_RATE_LIMIT, methods=["POST"])
def form() -> ResponseReturnValue:
    return _handle(embed=False)


@bp.route("/feedback/embed", methods=["GET", "POST"])
@public
@csrf_exempt
@limiter.limit(FORM_RATE_LIMIT, methods=["POST"])
def embed() -> ResponseReturnValue:
    if request.method == "POST" and not _embed_token_ok(request.form.get("form_token", "")):
        errors = {"form": "This form has expired. Reload the page and send your message again."}
        return _render_form(embed=True, errors=errors, values=request.form), 400
    return _handle(embed=True)


def _handle(embed: bool) -> ResponseReturnValue:
    if request.method == "GET":
        return _render_form(embed=embed, errors={}, values={"service": request.args.get("service")})
    data = request.form
    if is_bot(data):
        log.info("feedback form: honeypot filled, submission dropped")
        return render_template("feedback/thanks.html", embed=embed, message=None)
    try:
        submission = validate_form(data, known_services())
    except ValidationError as exc:
        return _render_form(embed=embed, errors=exc.errors, values=data), 400
    # Same form render + same text = the same submission (a double click or a reload).
    token = data.get("csrf_token") or data.get("form_token") or ""
    digest = hashlib.sha256(f"{token}\x1f{submission.message}".encode()).hexdigest()
    item = NewFeedback(
        source="form",
        kind=FeedbackKind.FORM,
        text=submission.message,
        external_id=f"form:{digest}",
        email=submission.email,
        rating=float(submission.rating) if submission.rating is not None else None,
        service=submission.service,
    )
    session = db()
    ingest(session, [item], runtime().now(), feedback_analyser())
    session.commit()
    return render_template("feedback/thanks.html", embed=embed, message=submission.message)


def _render_form(embed: bool, errors: dict[str, str], values: object) -> str:
    return render_template(
        "feedback/form.html",
        embed=embed,
        errors=errors,
        values=values,
        services=known_services(),
        honeypot=HONEYPOT_FIELD,
        max_chars=MAX_MESSAGE_CHARS,
        form_token=_embed_serializer().dumps("embed") if embed else None,
    )


def _embed_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_EMBED_SALT)


def _embed_token_ok(token: str) -> bool:
    try:
        return bool(_embed_serializer().loads(token, max_age=EMBED_TOKEN_MAX_AGE_S) == "embed")
    except (BadSignature, SignatureExpired):
        return False


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> ResponseReturnValue:
    limit_kb = FORM_MAX_BYTES // 1024
    message = f"Your submission is too large: the feedback form accepts at most {limit_kb} KB."
    return render_template("errors/error.html", code=413, title="Too large", message=message), 413


@bp.errorhandler(TooManyRequests)
def _too_many(_exc: TooManyRequests) -> ResponseReturnValue:
    message = "Too many messages from your address in a short time. Please try again later."
    return render_template("errors/error.html", code=429, title="Slow down", message=message), 429
