"""The CSV upload page: store the upload, import it in a background thread, poll progress.

The import runs in a thread of the web process that received the upload; its progress is
stored in the database (table feedback_import), so any web process can answer the polls.
A job whose process went away is marked failed when a web process starts and whenever
these pages are looked at (see feedback.import_jobs.fail_interrupted_jobs).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from core.models import Role
from core.runtime import Runtime
from feedback.csv_import import describe, dry_run, parse_mapping, prepare_import
from feedback.csv_layouts import CsvFormat
from feedback.errors import CsvImportError
from feedback.import_jobs import create_job, fail_interrupted_jobs, recent_jobs, run_job
from feedback.models import ImportJob
from feedback.surveys import get_survey, list_surveys, spec_of
from web.feedback_runtime import ensure_config_surveys, feedback_analyser
from web.security import require_role
from web.state import db, runtime

bp = Blueprint("feedback_import", __name__, url_prefix="/feedback/import")
log = logging.getLogger(__name__)


def _sweep(rt: Runtime) -> None:
    if fail_interrupted_jobs(rt.engine, rt.now()) and has_request_context():
        # The request's read snapshot (opened to load the user) predates the change.
        db().commit()


@bp.record_once
def _sweep_at_start(state: BlueprintSetupState) -> None:
    try:
        _sweep(state.app.extensions["opsloop"])
    except SQLAlchemyError as exc:  # a start must not fail on this; the pages sweep again
        log.warning("could not check for interrupted CSV imports: %s", exc)


@bp.get("/")
@require_role(Role.EDITOR)
def upload() -> ResponseReturnValue:
    ensure_config_surveys()
    _sweep(runtime())
    return _page({"format": "auto", "survey": request.args.get("survey", "")}, None)


@bp.post("/")
@require_role(Role.EDITOR)
def start() -> ResponseReturnValue:
    form = request.form
    values = dict(form)
    file = request.files.get("file")
    if file is None or not file.filename:
        return _page(values, "Choose a CSV file to upload."), 400
    data = file.read()
    session = db()
    slug = form.get("survey") or None
    survey = get_survey(session, slug) if slug else None
    if slug and survey is None:
        return _page(values, f"There is no survey “{slug}”."), 400
    try:
        fmt = CsvFormat(form.get("format") or "auto")
        mapping = parse_mapping([ln for ln in form.get("mapping", "").splitlines() if ln.strip()])
        source = (form.get("source") or "csv").strip()[:80] or "csv"
        prepared = prepare_import(data, spec_of(survey) if survey else None, fmt, mapping, source)
    except (CsvImportError, ValueError) as exc:
        return _page(values, f"{file.filename}: {exc}. Nothing was imported."), 400
    rt = runtime()
    if form.get("dry_run"):
        report = dry_run(session, prepared, survey, rt.now())
        return _page(values, None, report=report, layout=describe(prepared))
    folder = rt.settings.var_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.csv"
    path.write_bytes(data)
    job = create_job(
        session,
        filename=file.filename,
        path=path,
        survey_slug=slug,
        fmt=fmt,
        mapping=mapping,
        source=source,
        rows=len(prepared.table.rows),
        now=rt.now(),
    )
    session.commit()
    assert job.id is not None
    thread = threading.Thread(
        target=run_job,
        args=(rt.engine, job.id, feedback_analyser(), rt.now),
        name=f"feedback-import-{job.id}",
        daemon=True,
    )
    current_app.extensions.setdefault("feedback_import_threads", {})[job.id] = thread
    thread.start()
    return redirect(url_for("feedback_import.job", job_id=job.id))


@bp.get("/<int:job_id>")
def job(job_id: int) -> ResponseReturnValue:
    _sweep(runtime())
    found = db().get(ImportJob, job_id)
    if found is None:
        abort(404, description=f"There is no import {job_id}.")
    return render_template("feedback/import_job.html", job=found, state=_state(found))


@bp.get("/<int:job_id>/progress")
def progress(job_id: int) -> ResponseReturnValue:
    _sweep(runtime())
    found = db().get(ImportJob, job_id)
    if found is None:
        abort(404, description=f"There is no import {job_id}.")
    return jsonify(_state(found))


def _state(job: ImportJob) -> dict[str, Any]:
    return {
        "status": job.status,
        "rows": job.rows,
        "done": job.done,
        "percent": round(100 * job.done / job.rows) if job.rows else 100,
        "added": job.added,
        "duplicates": job.duplicates,
        "skipped": job.skipped,
        "comments_added": job.comments_added,
        "error_count": job.error_count,
        "errors": [{"line": line, "reason": why} for line, why in json.loads(job.errors)],
        "message": job.message,
    }


def _page(values: dict[str, Any], error: str | None, **extra: Any) -> str:
    session = db()
    return render_template(
        "feedback/import.html",
        values=values,
        error=error,
        surveys=list_surveys(session),
        jobs=recent_jobs(session),
        formats=[f.value for f in CsvFormat],
        limit_mb=runtime().settings.max_body_bytes / 1024 / 1024,
        **extra,
    )


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> ResponseReturnValue:
    limit_mb = runtime().settings.max_body_bytes / 1024 / 1024
    message = (
        f"The file is larger than the upload limit of {limit_mb:g} MB. Split it into smaller "
        "files (importing them one after the other is safe), or raise OPSLOOP_MAX_BODY_BYTES."
    )
    return render_template(
        "errors/error.html", code=413, title="File too large", message=message
    ), 413
