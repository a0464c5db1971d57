"""CSV import jobs left behind by a restarted web process are marked failed, saying why."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.clock import utcnow
from core.config import RawConfig
from feedback.import_jobs import INTERRUPTED, fail_interrupted_jobs
from feedback.models import ImportJob, ImportStatus
from tests.conftest import login

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def raw_config() -> RawConfig:
    return RawConfig()


def _job(
    engine: Engine,
    tmp_path: Path,
    status: ImportStatus,
    *,
    created_at: datetime,
    heartbeat_at: datetime | None = None,
    name: str = "export.csv",
) -> int:
    upload = tmp_path / f"{uuid.uuid4().hex}.csv"
    upload.write_bytes(b"id,score\n1,9\n")
    with Session(engine) as s:
        job = ImportJob(
            filename=name,
            path=str(upload),
            format="auto",
            source="csv",
            status=status.value,
            rows=1,
            created_at=created_at,
            heartbeat_at=heartbeat_at,
        )
        s.add(job)
        s.commit()
        assert job.id is not None
        return job.id


def _status(engine: Engine, job_id: int) -> tuple[str, str | None]:
    with Session(engine) as s:
        job = s.get(ImportJob, job_id)
        assert job is not None
        return job.status, job.message


def test_only_jobs_silent_for_longer_than_the_limit_are_marked_interrupted(engine, tmp_path):
    old = NOW - timedelta(minutes=10)
    dead = _job(engine, tmp_path, ImportStatus.RUNNING, created_at=old, heartbeat_at=old)
    alive = _job(
        engine,
        tmp_path,
        ImportStatus.RUNNING,
        created_at=old,
        heartbeat_at=NOW - timedelta(seconds=30),
    )
    never_started = _job(engine, tmp_path, ImportStatus.QUEUED, created_at=old)
    just_queued = _job(engine, tmp_path, ImportStatus.QUEUED, created_at=NOW)
    finished = _job(engine, tmp_path, ImportStatus.DONE, created_at=old, heartbeat_at=old)

    assert sorted(fail_interrupted_jobs(engine, NOW)) == sorted([dead, never_started])
    assert _status(engine, dead) == ("failed", INTERRUPTED)
    assert _status(engine, never_started) == ("failed", INTERRUPTED)
    assert [_status(engine, j)[0] for j in (alive, just_queued, finished)] == [
        "running",
        "queued",
        "done",
    ]
    with Session(engine) as s:
        kept = {j.id: Path(j.path).exists() for j in s.exec(select(ImportJob))}
    assert kept[dead] is False and kept[alive] is True  # the dead job's upload is dropped
    assert fail_interrupted_jobs(engine, NOW) == []  # once only


def test_a_restarted_web_process_fails_the_job_it_lost_and_the_page_says_why(
    runtime, engine, tmp_path, make_user
):
    from web.app import create_app

    ten_minutes_ago = utcnow() - timedelta(minutes=10)
    lost = _job(
        engine,
        tmp_path,
        ImportStatus.RUNNING,
        created_at=ten_minutes_ago,
        heartbeat_at=ten_minutes_ago,
        name="before-restart.csv",
    )
    app = create_app(runtime)  # the web process starting again
    app.config.update(TESTING=True)
    assert _status(engine, lost) == ("failed", INTERRUPTED)

    # A job that dies while the process keeps running is caught when its page is viewed.
    later = _job(
        engine,
        tmp_path,
        ImportStatus.RUNNING,
        created_at=ten_minutes_ago,
        heartbeat_at=ten_minutes_ago,
        name="thread-died.csv",
    )
    client = app.test_client()
    login(client, "alice", make_user("alice"))
    progress = client.get(f"/feedback/import/{later}/progress").get_json()
    assert progress["status"] == "failed" and progress["message"] == INTERRUPTED
    page = client.get(f"/feedback/import/{later}").get_data(as_text=True)
    assert 'class="badge bad">failed' in page
    assert "interrupted: the server restarted; upload the file again" in page
    listing = client.get("/feedback/import/").get_data(as_text=True)
    assert listing.count("rows already imported are kept") == 2
