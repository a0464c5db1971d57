"""CSV import jobs: an uploaded file imported chunk by chunk, its progress stored as data.

Each chunk is committed together with the job's counters, so the progress a page reads
is exactly what is stored; a job that fails midway keeps the chunks done so far (a
re-import of the file then adds only the rest).

A job runs in a thread of the web process that took the upload. If that process stops
mid-import, nothing is left to finish the job, so it carries a heartbeat (written when it
starts and with every chunk): `fail_interrupted_jobs` marks a queued or running job whose
heartbeat is older than `STALE_AFTER` as failed, saying so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, update
from sqlalchemy.engine import CursorResult, Engine
from sqlmodel import Session, col, select

from core.db import reading, session_scope
from feedback.analysis import Analyser
from feedback.csv_import import ImportReport, import_chunks, prepare_import
from feedback.csv_layouts import CsvFormat
from feedback.errors import CsvImportError
from feedback.models import ImportJob, ImportStatus
from feedback.surveys import get_survey, spec_of

log = logging.getLogger(__name__)

# A chunk (500 rows) takes about a second, and preparing even a 10 MB file a few: a job
# silent for two minutes has lost its thread.
STALE_AFTER = timedelta(minutes=2)
INTERRUPTED = (
    "interrupted: the server restarted; upload the file again — rows already imported are kept"
)
UNFINISHED = (ImportStatus.QUEUED.value, ImportStatus.RUNNING.value)


def create_job(
    session: Session,
    *,
    filename: str,
    path: Path,
    survey_slug: str | None,
    fmt: CsvFormat,
    mapping: dict[str, str],
    source: str,
    rows: int,
    now: datetime,
) -> ImportJob:
    job = ImportJob(
        filename=filename[:255],
        path=str(path),
        survey_slug=survey_slug,
        format=fmt.value,
        mapping=json.dumps(mapping),
        source=source,
        status=ImportStatus.QUEUED.value,
        rows=rows,
        created_at=now,
    )
    session.add(job)
    session.flush()
    return job


def run_job(engine: Engine, job_id: int, analyser: Analyser, clock: Callable[[], datetime]) -> None:
    """Import the job's file; record progress after each chunk and the outcome at the end."""
    with Session(engine, expire_on_commit=False) as session:
        job = session.get(ImportJob, job_id)
        if job is None or job.status != ImportStatus.QUEUED.value:
            return
        job.status = ImportStatus.RUNNING.value
        job.heartbeat_at = clock()
        session.add(job)
        session.commit()
        try:
            _import(session, job, analyser, clock)
        except CsvImportError as exc:
            session.rollback()
            _finish(session, job, ImportStatus.FAILED, f"{exc} (nothing more was imported)", clock)
        except Exception as exc:  # a job edge: record the failure as data, log the traceback
            log.exception("import job %s failed", job_id)
            session.rollback()
            _finish(session, job, ImportStatus.FAILED, f"internal error: {exc}", clock)
        else:
            _finish(session, job, ImportStatus.DONE, None, clock)
        finally:
            Path(job.path).unlink(missing_ok=True)


def _import(
    session: Session, job: ImportJob, analyser: Analyser, clock: Callable[[], datetime]
) -> None:
    survey = get_survey(session, job.survey_slug) if job.survey_slug else None
    if job.survey_slug and survey is None:
        raise CsvImportError(f"the survey {job.survey_slug!r} no longer exists")
    prepared = prepare_import(
        Path(job.path).read_bytes(),
        spec_of(survey) if survey else None,
        CsvFormat(job.format),
        json.loads(job.mapping),
        job.source,
    )
    for report in import_chunks(session, prepared, survey, clock(), analyser):
        _record(job, report)
        job.heartbeat_at = clock()
        session.add(job)
        session.commit()


def _record(job: ImportJob, report: ImportReport) -> None:
    job.rows = report.rows
    job.done = report.done
    job.added = report.added
    job.duplicates = report.duplicates
    job.skipped = report.skipped
    job.comments_added = report.comments_added
    job.error_count = report.error_count
    job.errors = json.dumps([[e.row, e.reason] for e in report.errors])


def _finish(
    session: Session,
    job: ImportJob,
    status: ImportStatus,
    message: str | None,
    clock: Callable[[], datetime],
) -> None:
    job.status = status.value
    job.message = message
    job.finished_at = clock()
    session.add(job)
    session.commit()


def _stale(now: datetime, stale_after: timedelta) -> object:
    last_sign_of_life = func.coalesce(ImportJob.heartbeat_at, ImportJob.created_at)
    return last_sign_of_life < now - stale_after


def interrupted_jobs(
    session: Session, now: datetime, stale_after: timedelta = STALE_AFTER
) -> list[ImportJob]:
    """Queued or running jobs that have shown no sign of life for `stale_after`."""
    query = select(ImportJob).where(
        col(ImportJob.status).in_(UNFINISHED),
        _stale(now, stale_after),  # type: ignore[arg-type]
    )
    return list(session.exec(query).all())


def fail_interrupted_jobs(
    engine: Engine, now: datetime, stale_after: timedelta = STALE_AFTER
) -> list[int]:
    """Mark interrupted jobs failed (and drop their stored upload); returns their ids.

    Looks first on a read-only transaction, so the common case (none) takes no write lock;
    each update re-checks the job, so a job that moved on meanwhile is left alone."""
    with Session(reading(engine)) as session:
        candidates = interrupted_jobs(session, now, stale_after)
    failed: list[ImportJob] = []
    if candidates:
        with session_scope(engine) as session:
            for job in candidates:
                result: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
                    update(ImportJob)
                    .where(
                        col(ImportJob.id) == job.id,
                        col(ImportJob.status).in_(UNFINISHED),
                        _stale(now, stale_after),  # type: ignore[arg-type]
                    )
                    .values(status=ImportStatus.FAILED.value, message=INTERRUPTED, finished_at=now)
                )
                if result.rowcount == 1:
                    failed.append(job)
    for job in failed:
        log.warning("import job %s (%s) was interrupted; marked failed", job.id, job.filename)
        Path(job.path).unlink(missing_ok=True)
    return [job.id or 0 for job in failed]


def recent_jobs(session: Session, limit: int = 10) -> list[ImportJob]:
    query = select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)  # type: ignore[union-attr]
    return list(session.exec(query).all())
