"""Importing survey exports: the three tool layouts, re-imports, bad rows, missing columns."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlmodel import Session, select

from core.clock import utcnow
from feedback.analysis import Analyser
from feedback.csv_import import ImportReport, dry_run, import_chunks, prepare_import
from feedback.csv_layouts import CsvFormat
from feedback.errors import CsvLayoutError
from feedback.models import Feedback, FeedbackKind, SurveyResponse
from feedback.survey_responses import survey_results
from feedback.surveys import create_survey, parse_spec, spec_of
from tests.conftest import fixture_path

QUESTION = "How likely are you to recommend Acme to a friend or colleague?"


@pytest.fixture
def survey(session: Session):
    spec = parse_spec({"slug": "acme", "kind": "nps", "title": "Acme", "question": QUESTION})
    found = create_survey(session, spec, utcnow())
    session.commit()
    return found


def _import(session, survey, data, **kwargs) -> ImportReport:
    prepared = prepare_import(data, spec_of(survey) if survey else None, **kwargs)
    report = ImportReport(prepared.table.format)
    for report in import_chunks(session, prepared, survey, utcnow(), Analyser()):  # noqa: B007
        session.commit()
    return report


def _responses(session, survey) -> list[SurveyResponse]:
    query = select(SurveyResponse).where(SurveyResponse.survey_id == survey.id)
    return list(session.exec(query.order_by(SurveyResponse.created_at)).all())


def test_a_google_forms_export_becomes_responses_and_inbox_comments(session, survey):
    report = _import(
        session, survey, fixture_path("surveys", "google_forms_export.csv").read_bytes()
    )
    assert report.format is CsvFormat.GOOGLE
    assert (report.rows, report.added, report.duplicates, report.error_count) == (5, 5, 0, 0)
    responses = _responses(session, survey)
    assert [r.score for r in responses] == [10, 6, 8, 3, 9]
    # 10:14:03 AM GMT+1 is 09:14:03 UTC
    assert responses[0].created_at.isoformat() == "2026-03-02T09:14:03+00:00"
    assert json.loads(responses[1].answers) == {
        "Which areas need work?": ["Exports", "Performance"]
    }
    results = survey_results(session, survey, spec_of(survey))
    assert results.summary.value == 0 and results.summary.n == 5  # the README's hand count
    comments = session.exec(select(Feedback).order_by(Feedback.created_at)).all()
    assert len(comments) == 4  # one row has no reason
    assert all(c.kind == FeedbackKind.CSV and c.source == "survey:acme" for c in comments)
    assert comments[0].email == "ana@example.com" and comments[0].rating == 10
    assert comments[1].survey_response_id == responses[1].id


def test_a_typeform_export_keeps_its_response_tokens_and_hidden_fields(session, survey):
    report = _import(session, survey, fixture_path("surveys", "typeform_export.csv").read_bytes())
    assert report.format is CsvFormat.TYPEFORM and report.added == 3
    responses = _responses(session, survey)
    assert responses[0].external_id == "csv:3f2c9d1e0a7b4c55a1e2f3a4b5c6d7e8"
    assert [json.loads(r.answers) for r in responses] == [
        {"plan": "pro"},
        {"plan": "free"},
        {"plan": "pro"},
    ]
    by_plan = survey_results(session, survey, spec_of(survey)).by_answer["plan"]
    # pro: 10 and 8 -> 1 promoter of 2 -> NPS 50; free: 6 -> detractor -> -100
    assert [(name, s.n, s.value) for name, s in by_plan] == [("pro", 2, 50), ("free", 1, -100)]


def test_a_surveymonkey_export_reads_both_header_rows(session, survey):
    report = _import(
        session, survey, fixture_path("surveys", "surveymonkey_export.csv").read_bytes()
    )
    assert report.format is CsvFormat.SURVEYMONKEY and report.added == 3
    responses = _responses(session, survey)
    assert [r.score for r in responses] == [6, 9, 3]
    assert [r.external_id for r in responses] == [
        "csv:118052219061",
        "csv:118052219062",
        "csv:118052219063",
    ]
    assert json.loads(responses[2].answers) == {"Which areas need work?": ["Login", "Performance"]}
    assert responses[2].comment == "Login loops after release"
    assert report.comments_added == 2


def test_importing_the_same_file_twice_adds_nothing(session, survey):
    data = fixture_path("surveys", "google_forms_export.csv").read_bytes()
    first = _import(session, survey, data)
    second = _import(session, survey, data)
    assert (first.added, second.added, second.duplicates) == (5, 0, 5)
    assert len(_responses(session, survey)) == 5
    assert len(session.exec(select(Feedback)).all()) == 4


def test_a_bad_row_is_reported_with_its_line_and_the_good_rows_are_imported(session, survey):
    data = (
        'id,score,comment\na1,9,fine\na2,eleven,what\na3,7,"two\nlines"\na4,12,too high\na5,0,bad\n'
    )
    report = _import(session, survey, data, fmt=CsvFormat.GENERIC)
    assert [(e.row, e.reason) for e in report.errors] == [
        (3, "score 'eleven' is not a number"),
        (6, "score 12 is outside 0-10 (a NPS answer)"),
    ]
    assert [r.score for r in _responses(session, survey)] == [9, 7, 0]


def test_a_missing_required_column_is_named_and_nothing_is_stored(session, survey):
    data = "Timestamp,Email Address,Anything else?\n2026/03/02 10:14:03 AM GMT+1,a@b.co,hi\n"
    with pytest.raises(CsvLayoutError, match="missing required column for the score"):
        prepare_import(data, spec_of(survey))
    with pytest.raises(
        CsvLayoutError, match="column 'NPS' \\(mapped to score\\) is not in the file"
    ):
        prepare_import(data, spec_of(survey), mapping={"score": "NPS"})
    assert _responses(session, survey) == []


def test_a_generic_file_with_a_column_mapping(session, survey):
    data = "when;how likely;why not\n2026-03-04T10:00:00Z;10;great\n2026-03-04T11:00:00Z;2;slow\n"
    mapping = {"score": "how likely", "comment": "why not", "created_at": "when"}
    report = _import(session, survey, data, fmt=CsvFormat.GENERIC, mapping=mapping)
    assert report.added == 2 and report.error_count == 0
    assert [r.comment for r in _responses(session, survey)] == ["great", "slow"]


def test_without_a_survey_rows_become_plain_feedback(session):
    data = fixture_path("surveys", "typeform_export.csv").read_bytes()
    report = _import(session, None, data, source="typeform")
    assert (report.added, report.skipped) == (2, 1)  # the row without a reason has no text
    items = session.exec(select(Feedback).order_by(Feedback.created_at)).all()
    assert [(i.source, i.kind, i.rating) for i in items] == [
        ("typeform", "csv", 10.0),
        ("typeform", "csv", 6.0),
    ]


def test_a_dry_run_counts_and_stores_nothing(session, survey):
    data = fixture_path("surveys", "surveymonkey_export.csv").read_bytes()
    prepared = prepare_import(data, spec_of(survey))
    plan = dry_run(session, prepared, survey, utcnow())
    assert (plan.added, plan.duplicates, plan.comments_added) == (3, 0, 2)
    assert _responses(session, survey) == []
    _import(session, survey, data)
    assert dry_run(session, prepared, survey, utcnow()).added == 0


def test_the_command_imports_dry_runs_and_reports_bad_rows(tmp_path, database_url, engine):
    config = tmp_path / "opsloop.yml"
    config.write_text(
        "feedback:\n  surveys:\n"
        f"    - {{slug: acme, kind: nps, title: Acme, question: '{QUESTION}'}}\n"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("id,score\nx1,10\nx2,zero\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSLOOP_", "DATABASE_URL"))}
    env |= {"DATABASE_URL": database_url, "OPSLOOP_CONFIG": str(config)}
    env["OPSLOOP_VAR_DIR"] = str(tmp_path / "var")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "opsloop", "feedback", "import", *args]
        return subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=60, check=False
        )

    google = str(fixture_path("surveys", "google_forms_export.csv"))
    dry = run(google, "--survey", "acme", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would add 5" in dry.stdout and "nothing stored" in dry.stdout
    done = run(google, "--survey", "acme")
    assert "added 5, 0 already present" in done.stdout, done.stderr
    again = run(google, "--survey", "acme")
    assert "added 0, 5 already present" in again.stdout
    refused = run(str(bad), "--survey", "acme", "--format", "generic")
    assert refused.returncode == 1
    assert "bad.csv: line 3: score 'zero' is not a number" in refused.stderr
    missing = run(str(bad), "--survey", "acme", "--map", "score=NPS")
    assert missing.returncode == 1
    assert "column 'NPS' (mapped to score) is not in the file" in missing.stderr
    with Session(engine) as s:
        assert len(s.exec(select(SurveyResponse)).all()) == 6
