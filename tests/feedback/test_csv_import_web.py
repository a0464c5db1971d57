"""The upload page: a job imports the file in chunks; progress, bad rows, limits."""

from __future__ import annotations

import io
import re

import pytest
from sqlmodel import Session, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from core.config import RawConfig
from feedback import csv_import
from feedback.models import Feedback, ImportJob, SurveyResponse
from tests.conftest import csrf_token_from, fixture_path

QUESTION = "How likely are you to recommend Acme to a friend or colleague?"


@pytest.fixture
def raw_config() -> RawConfig:
    survey = {"slug": "acme", "kind": "nps", "title": "Acme", "question": QUESTION}
    return RawConfig(data={"feedback": {"surveys": [survey]}})


def _upload(client, app, data: bytes, name="export.csv", **fields):
    token = csrf_token_from(client.get("/feedback/import/").get_data(as_text=True))
    response = client.post(
        "/feedback/import/",
        data={"csrf_token": token, "file": (io.BytesIO(data), name), **fields},
        content_type="multipart/form-data",
    )
    for thread in app.extensions.get("feedback_import_threads", {}).values():
        thread.join(timeout=60)
    return response


def test_an_upload_is_imported_by_a_job_whose_progress_is_polled(auth_client, app, engine):
    data = fixture_path("surveys", "surveymonkey_export.csv").read_bytes()
    response = _upload(auth_client, app, data, survey="acme")
    assert response.status_code == 302
    job_url = response.headers["Location"]
    assert re.fullmatch(r"/feedback/import/\d+", job_url)
    progress = auth_client.get(job_url + "/progress").get_json()
    assert progress["status"] == "done"
    assert (progress["rows"], progress["done"], progress["percent"]) == (3, 3, 100)
    assert (progress["added"], progress["comments_added"]) == (3, 2)
    page = auth_client.get(job_url).get_data(as_text=True)
    assert 'class="progress"' in page and "done" in page
    again = _upload(auth_client, app, data, survey="acme")
    second = auth_client.get(again.headers["Location"] + "/progress").get_json()
    assert (second["added"], second["duplicates"]) == (0, 3)


def test_a_large_file_moves_the_progress_chunk_by_chunk(auth_client, app, engine, monkeypatch):
    # Three chunks of 4 rows: the job records its counters after each committed chunk.
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 4)
    lines = ["id,score,comment"] + [f"r{i},{i % 11},note {i}" for i in range(10)]
    lines.append("r10,eleven,bad")
    response = _upload(auth_client, app, "\n".join(lines).encode(), survey="acme", format="generic")
    progress = auth_client.get(response.headers["Location"] + "/progress").get_json()
    assert (progress["rows"], progress["done"], progress["added"]) == (11, 11, 10)
    assert progress["errors"] == [{"line": 12, "reason": "score 'eleven' is not a number"}]
    with Session(engine) as s:
        assert len(s.exec(select(SurveyResponse)).all()) == 10
        (job,) = s.exec(select(ImportJob)).all()
    # Each chunk is a sign of life: a live job is never taken for an interrupted one.
    assert job.heartbeat_at is not None and job.heartbeat_at >= job.created_at


def test_a_missing_column_is_refused_at_once_and_nothing_is_stored(auth_client, app, engine):
    response = _upload(
        auth_client, app, b"Timestamp,Note\n2026/03/02 10:14:03 AM,hi\n", survey="acme"
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "missing required column for the score" in html and "Nothing was imported" in html
    with Session(engine) as s:
        assert s.exec(select(ImportJob)).all() == []
        assert s.exec(select(SurveyResponse)).all() == []


def test_a_dry_run_on_the_page_stores_nothing(auth_client, app, engine):
    data = fixture_path("surveys", "google_forms_export.csv").read_bytes()
    response = _upload(auth_client, app, data, survey="acme", dry_run="on")
    assert response.status_code == 200
    assert "would add <strong>5</strong>" in response.get_data(as_text=True)
    with Session(engine) as s:
        assert s.exec(select(SurveyResponse)).all() == []
        assert s.exec(select(Feedback)).all() == []


def test_a_50_mb_upload_gets_413_with_a_clear_message(auth_client, app):
    token = csrf_token_from(auth_client.get("/feedback/import/").get_data(as_text=True))
    big = io.BytesIO(b"a,b\n" + b"1,2\n" * (50 * 1024 * 1024 // 4))
    # Encoded in memory: the test client would spool 50 MB to a temporary file of its own.
    body, length, boundary = stream_encode_multipart(
        {"csrf_token": token, "file": FileStorage(big, "huge.csv")}, use_tempfile=False
    )
    response = auth_client.post(
        "/feedback/import/",
        input_stream=body,
        content_length=length,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 413
    assert "larger than the upload limit of 10 MB" in response.get_data(as_text=True)
