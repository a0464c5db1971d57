"""Reading survey CSV exports (pure): dialect, layout detection, columns mapped to fields.

Layouts (see ../shared/fixtures/surveys/README.md for the conventions):
- Google Forms: `Timestamp` first, optional `Email Address`, one column per question;
  checkbox answers joined with `;`.
- Typeform: `#` (response token) first, one column per question or hidden field, then
  `Start Date (UTC)`, `Submit Date (UTC)`, `Network ID`.
- SurveyMonkey: two header rows; metadata columns first; a multi-choice question spans
  several columns (blank cells in row 1, option labels in row 2).
- generic: one header row; columns named by `--map field=column` or by their own name
  (score, comment/text/message, created_at/date/timestamp, email, id, service).

Dates: Google's `GMT+1` suffix is honoured; dates without a zone are taken as UTC, and
slashed dates as month/day/year, as SurveyMonkey and US-locale Google Forms write them.

The csv module reads the rows and csv.Sniffer guesses the delimiter; what is written here
is only what no library knows: which column of which tool's export means what.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum

from feedback.errors import CsvImportError, CsvLayoutError


class CsvFormat(StrEnum):
    AUTO = "auto"
    GOOGLE = "google"
    TYPEFORM = "typeform"
    SURVEYMONKEY = "surveymonkey"
    GENERIC = "generic"


SNIFF_BYTES = 64 * 1024
FIELDS = ("score", "comment", "created_at", "email", "external_id", "service")
SCORE_WORDS = ("recommend", "likely", "satisf", "easy", "effort", "score", "rating", "nps")
COMMENT_WORDS = ("why", "reason", "comment", "feedback", "open-ended", "tell us", "anything")
GENERIC_NAMES = {
    "score": ("score", "rating", "nps", "csat", "ces"),
    "comment": ("comment", "text", "message", "feedback"),
    "created_at": ("created_at", "date", "timestamp", "submitted_at", "time"),
    "email": ("email", "e-mail", "email address"),
    "external_id": ("id", "external_id", "response_id"),
    "service": ("service",),
}
_SURVEYMONKEY_META: dict[str, str | None] = {
    "Respondent ID": "external_id",
    "Collector ID": None,
    "Start Date": None,
    "End Date": "created_at",
    "IP Address": None,
    "Email Address": "email",
    "First Name": None,
    "Last Name": None,
    "Custom Data 1": None,
}
_TYPEFORM_META: dict[str, str | None] = {
    "#": "external_id",
    "Start Date (UTC)": None,
    "Submit Date (UTC)": "created_at",
    "Network ID": None,
}
_GOOGLE_META: dict[str, str | None] = {"Timestamp": "created_at", "Email Address": "email"}
_META_BY_FORMAT = {CsvFormat.GOOGLE: _GOOGLE_META, CsvFormat.TYPEFORM: _TYPEFORM_META}
_GOOGLE_TIME = re.compile(
    r"^(\d{4})/(\d{1,2})/(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2})(?: ?([AP]M))?"
    r"(?: GMT([+-]\d{1,2})(?::?(\d{2}))?)?$",
    re.IGNORECASE,
)
_US_TIME = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?(?: ?([AP]M))?)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Question:
    """A question of the export: its title and the columns holding its answer."""

    title: str
    columns: tuple[int, ...]
    options: tuple[str, ...] = ()  # multi-choice: the option of each column

    @property
    def is_multi(self) -> bool:
        return bool(self.options)


@dataclass
class CsvTable:
    """The file split into header and data rows, with the line on which each row ends."""

    format: CsvFormat
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    meta: dict[str, int] = field(default_factory=dict)  # field -> column
    questions: list[Question] = field(default_factory=list)


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet tools on Windows still write cp1252; latin-1 maps every byte.
        return data.decode("cp1252", errors="replace")


def read_table(text: str, fmt: CsvFormat = CsvFormat.AUTO) -> CsvTable:
    """Split a CSV export into header and rows and work out its layout."""
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:SNIFF_BYTES], delimiters=",;\t|"
        )
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    records: list[list[str]] = []
    lines: list[int] = []
    try:
        for record in reader:
            records.append(record)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise CsvLayoutError(f"not a readable CSV file: {exc}", row=reader.line_num) from exc
    while records and not any(cell.strip() for cell in records[-1]):
        records.pop()
        lines.pop()
    if not records:
        raise CsvLayoutError("the file is empty")
    detected = detect_format(records) if fmt is CsvFormat.AUTO else fmt
    if detected is CsvFormat.SURVEYMONKEY:
        return _surveymonkey(records, lines)
    header = [h.strip() for h in records[0]]
    table = CsvTable(detected, header, records[1:], lines[1:])
    meta_names = _META_BY_FORMAT.get(detected, {})
    for index, name in enumerate(header):
        target = meta_names.get(name, "")
        if target:
            table.meta[target] = index
        elif name not in meta_names:
            table.questions.append(Question(name, (index,)))
    if detected is CsvFormat.GOOGLE and "created_at" not in table.meta:
        raise CsvLayoutError("missing required column 'Timestamp' of a Google Forms export")
    if detected is CsvFormat.TYPEFORM and "external_id" not in table.meta:
        raise CsvLayoutError("missing required column '#' of a Typeform export")
    return table


def detect_format(records: Sequence[Sequence[str]]) -> CsvFormat:
    first = [h.strip() for h in records[0]]
    if first and first[0] == "Respondent ID" and len(records) > 1:
        return CsvFormat.SURVEYMONKEY
    if first and first[0] == "Timestamp":
        return CsvFormat.GOOGLE
    if first and first[0] == "#" and "Submit Date (UTC)" in first:
        return CsvFormat.TYPEFORM
    return CsvFormat.GENERIC


def _surveymonkey(records: list[list[str]], lines: list[int]) -> CsvTable:
    if len(records) < 2:
        raise CsvLayoutError("a SurveyMonkey export has two header rows; the second is missing")
    top = [h.strip() for h in records[0]]
    sub = [h.strip() for h in records[1]] + [""] * max(0, len(top) - len(records[1]))
    table = CsvTable(CsvFormat.SURVEYMONKEY, top, records[2:], lines[2:])
    current: tuple[str, list[int], list[str]] | None = None
    spans: list[tuple[str, list[int], list[str]]] = []
    for index, title in enumerate(top):
        if title in _SURVEYMONKEY_META:
            target = _SURVEYMONKEY_META[title]
            if target:
                table.meta[target] = index
            current = None
        elif title:
            current = (title, [index], [sub[index]])
            spans.append(current)
        elif current is not None and sub[index]:  # another option of the multi-choice above
            current[1].append(index)
            current[2].append(sub[index])
    for title, columns, subs in spans:
        single = len(columns) == 1 and subs[0] in {"", "Response", "Open-Ended Response"}
        options = () if single else tuple(subs)
        table.questions.append(Question(title, tuple(columns), options))
    if "external_id" not in table.meta:
        raise CsvLayoutError("missing required column 'Respondent ID' of a SurveyMonkey export")
    return table


def find_column(
    table: CsvTable,
    wanted: str,
    mapping: Mapping[str, str],
    hint: str | None = None,
    words: Sequence[str] = (),
) -> Question | None:
    """The question column for a field: mapped by name, the hint's title, or a keyword."""
    if wanted in mapping:
        name = mapping[wanted].strip().casefold()
        for question in table.questions:
            if question.title.casefold() == name:
                return question
        for index, header in enumerate(table.header):
            if header.casefold() == name:
                return Question(header, (index,))
        raise CsvLayoutError(
            f"column {mapping[wanted]!r} (mapped to {wanted}) is not in the file; "
            f"its columns are: {', '.join(h for h in table.header if h)}"
        )
    if hint:
        for question in table.questions:
            if _normal(question.title) == _normal(hint):
                return question
    if table.format is CsvFormat.GENERIC:
        names = GENERIC_NAMES.get(wanted, ())
        for question in table.questions:
            if question.title.casefold() in names:
                return question
        return None
    for question in table.questions:
        if not question.is_multi and any(w in question.title.casefold() for w in words):
            return question
    return None


def cell(row: Sequence[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return row[index].strip()


def parse_time(raw: str, line: int) -> datetime:
    """An aware UTC datetime from the date formats of the supported exports."""
    value = raw.strip()
    match = _GOOGLE_TIME.match(value)
    if match:
        year, month, day, hour, minute, second, ampm, off_h, off_m = match.groups()
        sign = -1 if (off_h or "").startswith("-") else 1
        offset = timedelta(hours=int(off_h or 0)) + sign * timedelta(minutes=int(off_m or 0))
        date_parts = (int(year), int(month), int(day))
        return _build(line, raw, date_parts, (hour, minute, second, ampm), timezone(offset))
    match = _US_TIME.match(value)
    if match:
        month, day, year, hour, minute, second, ampm = match.groups()
        date_parts = (int(year), int(month), int(day))
        return _build(line, raw, date_parts, (hour or "0", minute or "0", second, ampm), UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CsvImportError(
            f"date {raw!r} is not in a known format (e.g. 2026-03-02 09:14:03)", row=line
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _build(
    line: int,
    raw: str,
    date_parts: tuple[int, int, int],
    clock: tuple[str, str, str | None, str | None],
    tz: timezone,
) -> datetime:
    year, month, day = date_parts
    hour, minute, second, ampm = clock
    h = int(hour)
    if ampm:
        if not 1 <= h <= 12:
            raise CsvImportError(f"date {raw!r} has hour {h} with {ampm}", row=line)
        h = h % 12 + (12 if ampm.upper() == "PM" else 0)
    try:
        moment = datetime(year, month, day, h, int(minute), int(second or 0), tzinfo=tz)
    except ValueError as exc:
        raise CsvImportError(f"date {raw!r} is not a real date: {exc}", row=line) from None
    return moment.astimezone(UTC)


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())
