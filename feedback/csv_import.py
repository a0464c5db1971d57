"""Importing survey CSV exports: rows become survey responses (or plain feedback), once each.

`prepare_import` reads the file and resolves its columns; a missing required column
raises CsvLayoutError before anything is stored. `import_chunks` then stores the rows a
chunk at a time (the caller commits after each chunk, which is what lets a progress bar
move); a bad row is reported with its line number and the good rows are still stored.
Importing the same file again adds nothing: every row has a stable id (the export's
response id, or a hash of the row).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from feedback.analysis import Analyser
from feedback.csv_layouts import (
    COMMENT_WORDS,
    FIELDS,
    SCORE_WORDS,
    CsvFormat,
    CsvTable,
    Question,
    cell,
    decode,
    find_column,
    parse_time,
    read_table,
)
from feedback.errors import CsvImportError, CsvLayoutError
from feedback.ingest import MAX_TEXT_CHARS, NewFeedback, ingest
from feedback.models import Feedback, FeedbackKind, Survey
from feedback.survey_responses import (
    NewResponse,
    clean_email,
    existing_external_ids,
    record_responses,
)
from feedback.survey_stats import scale
from feedback.surveys import SurveySpec

CHUNK_ROWS = 500
MAX_REPORTED_ERRORS = 200
# A Google Forms column is a checkbox question when answers hold ';' and none is long prose.
CHECKBOX_MAX_CHARS = 100


@dataclass
class PreparedImport:
    table: CsvTable
    spec: SurveySpec | None
    score: Question | None
    comment: Question | None
    service: Question | None
    answers: list[tuple[str, Question, bool]]  # (key, question, split on ';')
    source: str


@dataclass
class ImportReport:
    format: CsvFormat
    rows: int = 0
    done: int = 0
    added: int = 0
    duplicates: int = 0
    skipped: int = 0  # rows with nothing to import (plain feedback without text)
    comments_added: int = 0
    errors: list[CsvImportError] = field(default_factory=list)
    error_count: int = 0

    def add_error(self, error: CsvImportError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)


def parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    """`field=column` pairs (from --map or the upload form) as a dict; CsvLayoutError if bad."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        name = name.strip()
        if not sep or not column.strip():
            raise CsvLayoutError(f"--map {pair!r}: write field=column, e.g. score=NPS")
        if name not in FIELDS:
            raise CsvLayoutError(
                f"--map {pair!r}: unknown field {name!r}; fields: {', '.join(FIELDS)}"
            )
        mapping[name] = column.strip()
    return mapping


def prepare_import(
    data: bytes | str,
    spec: SurveySpec | None,
    fmt: CsvFormat = CsvFormat.AUTO,
    mapping: Mapping[str, str] | None = None,
    source: str = "csv",
) -> PreparedImport:
    text = decode(data) if isinstance(data, bytes) else data
    table = read_table(text, fmt)
    mapping = dict(mapping or {})
    for name in ("external_id", "created_at", "email"):
        if name in mapping:
            table.meta[name] = find_column(table, name, mapping).columns[0]  # type: ignore[union-attr]
        elif table.format is CsvFormat.GENERIC:
            found = find_column(table, name, {})
            if found is not None:
                table.meta[name] = found.columns[0]
    score = find_column(table, "score", mapping, spec.question if spec else None, SCORE_WORDS)
    if spec is not None and score is None:
        raise CsvLayoutError(
            f"missing required column for the score: no column is titled {spec.question!r} "
            "or mentions recommend/likely/satisfied/easy/score/rating; "
            "name it with --map score=COLUMN"
        )
    comment = find_column(table, "comment", mapping, None, COMMENT_WORDS)
    if spec is None and comment is None:
        raise CsvLayoutError(
            "missing required column for the text: without --survey each row becomes a piece "
            "of feedback, so one column must hold its text (name it with --map comment=COLUMN)"
        )
    service = find_column(table, "service", mapping, None, ("service",))
    used = {id(q) for q in (score, comment, service) if q is not None}
    used_columns = {c for q in (score, comment, service) if q is not None for c in q.columns}
    answers = [
        (_answer_key(spec, q), q, _is_checkbox(table, q))
        for q in table.questions
        if id(q) not in used and not used_columns & set(q.columns)
    ]
    return PreparedImport(table, spec, score, comment, service, answers, source)


def _answer_key(spec: SurveySpec | None, question: Question) -> str:
    for extra in spec.extra_questions if spec else ():
        if extra.label.casefold() == question.title.casefold() or extra.id == question.title:
            return extra.id
    return question.title


def _is_checkbox(table: CsvTable, question: Question) -> bool:
    if question.is_multi or table.format is not CsvFormat.GOOGLE:
        return False
    values = [cell(row, question.columns[0]) for row in table.rows]
    return any(";" in v for v in values) and all(len(v) <= CHECKBOX_MAX_CHARS for v in values)


def row_external_id(prepared: PreparedImport, row: Sequence[str]) -> str:
    given = cell(row, prepared.table.meta.get("external_id"))
    if given:
        return f"csv:{given}"[:255]
    digest = hashlib.sha256("\x1f".join(c.strip() for c in row).encode("utf-8")).hexdigest()
    return f"csv:row:{digest}"


def parse_row(
    prepared: PreparedImport, row: Sequence[str], line: int, now: datetime
) -> NewResponse | None:
    """One row as a response (score may be -1 without a survey); None when it is empty."""
    table = prepared.table
    if len(row) > len(table.header) and any(c.strip() for c in row[len(table.header) :]):
        raise CsvImportError(
            f"has {len(row)} fields but the header has {len(table.header)}", row=line
        )
    raw_time = cell(row, table.meta.get("created_at"))
    created_at = parse_time(raw_time, line) if raw_time else now
    comment = _first(row, prepared.comment)
    if prepared.spec is None and not comment:
        return None
    score = _score(prepared, row, line)
    answers: dict[str, object] = {}
    for key, question, checkbox in prepared.answers:
        if question.is_multi:
            picked = [
                o for c, o in zip(question.columns, question.options, strict=True) if cell(row, c)
            ]
            if picked:
                answers[key] = picked
        elif value := cell(row, question.columns[0]):
            answers[key] = [p.strip() for p in value.split(";") if p.strip()] if checkbox else value
    return NewResponse(
        external_id=row_external_id(prepared, row),
        score=score,
        created_at=created_at,
        comment=comment[:MAX_TEXT_CHARS] or None,
        answers=answers,
        service=_first(row, prepared.service) or None,
        email=clean_email(cell(row, table.meta.get("email"))),
    )


def _first(row: Sequence[str], question: Question | None) -> str:
    return cell(row, question.columns[0]) if question is not None else ""


def _score(prepared: PreparedImport, row: Sequence[str], line: int) -> int:
    raw = _first(row, prepared.score)
    if prepared.spec is None and not raw:
        return -1
    if not raw:
        raise CsvImportError("the score is empty", row=line)
    try:
        number = float(raw)
    except ValueError:
        raise CsvImportError(f"score {raw!r} is not a number", row=line) from None
    if not number.is_integer():
        raise CsvImportError(f"score {raw!r} is not a whole number", row=line)
    score = int(number)
    if prepared.spec is not None:
        low, high = scale(prepared.spec.kind)
        if not low <= score <= high:
            kind = prepared.spec.kind.value.upper()
            raise CsvImportError(
                f"score {score} is outside {low}-{high} (a {kind} answer)", row=line
            )
    return score


def _parse_chunk(
    prepared: PreparedImport, start: int, now: datetime, report: ImportReport
) -> list[NewResponse]:
    parsed: list[NewResponse] = []
    table = prepared.table
    for row, line in zip(
        table.rows[start : start + CHUNK_ROWS], table.lines[start : start + CHUNK_ROWS], strict=True
    ):
        if not any(c.strip() for c in row):
            report.skipped += 1
            continue
        try:
            found = parse_row(prepared, row, line, now)
        except CsvImportError as exc:
            report.add_error(exc)
            continue
        if found is None:
            report.skipped += 1
        else:
            parsed.append(found)
    return parsed


def import_chunks(
    session: Session,
    prepared: PreparedImport,
    survey: Survey | None,
    now: datetime,
    analyser: Analyser,
) -> Iterator[ImportReport]:
    """Store the file a chunk at a time, yielding the running report after each chunk.

    The caller commits after each yielded report (and may stop early).
    """
    report = ImportReport(prepared.table.format, rows=len(prepared.table.rows))
    for start in range(0, len(prepared.table.rows), CHUNK_ROWS):
        parsed = _parse_chunk(prepared, start, now, report)
        if survey is not None:
            result = record_responses(session, survey, parsed, now, analyser, FeedbackKind.CSV)
            report.added += result.added
            report.duplicates += result.duplicates
            report.comments_added += result.comments_added
        else:
            outcome = ingest(session, [_as_feedback(prepared, r) for r in parsed], now, analyser)
            report.added += outcome.added
            report.duplicates += outcome.duplicates
        report.done = min(len(prepared.table.rows), start + CHUNK_ROWS)
        yield report
    if not prepared.table.rows:
        yield report


def _as_feedback(prepared: PreparedImport, response: NewResponse) -> NewFeedback:
    return NewFeedback(
        source=prepared.source,
        kind=FeedbackKind.CSV,
        text=response.comment or "",
        external_id=response.external_id,
        email=response.email,
        rating=float(response.score) if response.score >= 0 else None,
        created_at=response.created_at,
        service=response.service,
    )


def dry_run(
    session: Session, prepared: PreparedImport, survey: Survey | None, now: datetime
) -> ImportReport:
    """What an import would do, storing nothing."""
    report = ImportReport(prepared.table.format, rows=len(prepared.table.rows))
    parsed: list[NewResponse] = []
    for start in range(0, len(prepared.table.rows), CHUNK_ROWS):
        parsed.extend(_parse_chunk(prepared, start, now, report))
    ids = {r.external_id for r in parsed}
    if survey is not None:
        present = existing_external_ids(session, survey, ids)
    else:
        query = select(Feedback.external_id).where(
            Feedback.source == prepared.source, col(Feedback.external_id).in_(list(ids))
        )
        present = set(session.exec(query).all()) if ids else set()
    report.duplicates = len(parsed) - len(ids) + len(present)
    report.added = len(ids - present)
    report.comments_added = sum(1 for r in parsed if r.comment and r.external_id not in present)
    report.done = report.rows
    return report


def describe(prepared: PreparedImport) -> list[str]:
    """How the columns were understood, for the person running the import."""
    lines = [f"layout: {prepared.table.format.value}, {len(prepared.table.rows)} data rows"]
    for name, question in (
        ("score", prepared.score),
        ("comment", prepared.comment),
        ("service", prepared.service),
    ):
        if question is not None:
            lines.append(f"{name}: {question.title!r}")
    for key, question, _ in prepared.answers:
        kind = "multi-choice" if question.is_multi else "answer"
        lines.append(f"{kind} {key!r}: {question.title!r}")
    return lines
