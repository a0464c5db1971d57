"""Silences: validating Alertmanager-style matchers, creating, expiring and matching them.

Matchers have Alertmanager's API v2 shape, `{"name", "value", "isRegex", "isEqual"}`, and
its semantics: a regex is anchored at both ends (`^(?:value)$`), `isEqual: false` negates,
a missing label matches as the empty string, and a silence needs at least one matcher that
does not match the empty string (so it cannot mute everything by accident).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from alerts.errors import AlertNotFound, SilenceError
from alerts.models import Silence
from core.clock import as_utc
from core.db import canonical_json

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MAX_MATCHERS = 32
MAX_COMMENT_CHARS = 2000


class SilenceState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


@lru_cache(maxsize=1024)
def _anchored(pattern: str) -> re.Pattern[str]:
    return re.compile(f"(?:{pattern})")


def matcher_matches(matcher: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    actual = labels.get(matcher["name"], "")
    if matcher.get("isRegex"):
        # fullmatch, not "^...$": Python's "$" also matches before a trailing newline.
        found = _anchored(matcher["value"]).fullmatch(actual) is not None
    else:
        found = actual == matcher["value"]
    return found if matcher.get("isEqual", True) else not found


def matches(matchers: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> bool:
    return all(matcher_matches(m, labels) for m in matchers)


def silence_for(labels: Mapping[str, str], silences: Sequence[Silence]) -> Silence | None:
    """The first of the given (active) silences whose matchers all match the labels."""
    for silence in silences:
        if matches(silence.matcher_list, labels):
            return silence
    return None


# (silence id, matchers) of the active silences: the light form the intake hot path reads.
ActiveMatchers = list[tuple[int, list[dict[str, Any]]]]


def _active_query() -> Any:
    table = Silence.__table__  # type: ignore[attr-defined]
    return (
        sa_select(table.c.id, table.c.matchers)
        .where(
            table.c.starts_at <= bindparam("now"),
            table.c.ends_at > bindparam("now"),
            table.c.expired_at.is_(None),
        )
        .order_by(table.c.id)
    )


# Built once: the intake hot path runs it on every request.
_ACTIVE_QUERY = _active_query()


def active_matchers(session: Session, now: datetime) -> ActiveMatchers:
    """Active silences as (id, matchers), read with one Core query (no ORM objects)."""
    rows = session.connection().execute(_ACTIVE_QUERY, {"now": now})
    return [(int(row[0]), json.loads(row[1])) for row in rows]


def silence_id_for(labels: Mapping[str, str], active: ActiveMatchers) -> int | None:
    """The id of the first active silence whose matchers all match the labels."""
    for silence_id, matchers in active:
        if matches(matchers, labels):
            return silence_id
    return None


def silence_state(silence: Silence, now: datetime) -> SilenceState:
    if silence.expired_at is not None or as_utc(silence.ends_at) <= now:
        return SilenceState.EXPIRED
    if as_utc(silence.starts_at) > now:
        return SilenceState.PENDING
    return SilenceState.ACTIVE


def validate_matchers(raw: Any) -> list[dict[str, Any]]:
    """Checked, normalised matchers; SilenceError names the matcher index and field."""
    if not isinstance(raw, list) or not raw:
        raise SilenceError("matchers: give a non-empty list of matchers", field="matchers")
    if len(raw) > MAX_MATCHERS:
        raise SilenceError(f"matchers: at most {MAX_MATCHERS} allowed", field="matchers")
    result = [_validate_matcher(i, item) for i, item in enumerate(raw)]
    if all(matcher_matches(m, {}) for m in result):
        raise SilenceError(
            "matchers: at least one matcher must not match the empty string "
            "(otherwise the silence would mute every alert)",
            field="matchers",
        )
    return result


def _validate_matcher(index: int, item: Any) -> dict[str, Any]:
    where = f"matchers[{index}]"
    if not isinstance(item, dict):
        raise SilenceError(f"{where}: must be an object with name and value", field="matchers")
    name, value = item.get("name"), item.get("value")
    if not isinstance(name, str) or not LABEL_NAME.match(name):
        raise SilenceError(
            f"{where}.name: {name!r} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)",
            field="matchers",
        )
    if not isinstance(value, str):
        raise SilenceError(f"{where}.value: must be a string", field="matchers")
    flags = {}
    for flag, default in (("isRegex", False), ("isEqual", True)):
        flag_value = item.get(flag, default)
        if not isinstance(flag_value, bool):
            raise SilenceError(f"{where}.{flag}: must be true or false", field="matchers")
        flags[flag] = flag_value
    if flags["isRegex"]:
        try:
            _anchored(value)
        except re.error as exc:
            raise SilenceError(
                f"{where}.value: {value!r} is not a valid regex: {exc}", field="matchers"
            ) from None
    return {"name": name, "value": value, **flags}


def create_silence(
    session: Session,
    *,
    matchers: Any,
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str,
    now: datetime,
) -> Silence:
    checked = validate_matchers(matchers)
    if ends_at <= starts_at:
        raise SilenceError("endsAt: must be after startsAt", field="endsAt")
    if ends_at <= now:
        raise SilenceError("endsAt: must be in the future", field="endsAt")
    created_by = created_by.strip()
    if not created_by:
        raise SilenceError("createdBy: say who creates the silence", field="createdBy")
    comment = comment.strip()
    if not comment:
        raise SilenceError("comment: say why alerts are silenced", field="comment")
    if len(comment) > MAX_COMMENT_CHARS:
        raise SilenceError(f"comment: at most {MAX_COMMENT_CHARS} characters", field="comment")
    silence = Silence(
        matchers=canonical_json(checked),
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=created_by[:80],
        comment=comment,
        created_at=now,
    )
    session.add(silence)
    session.flush()
    return silence


def get_silence(session: Session, silence_id: int) -> Silence:
    silence = session.get(Silence, silence_id)
    if silence is None:
        raise AlertNotFound(f"no silence with id {silence_id}")
    return silence


def expire_silence(session: Session, silence_id: int, now: datetime) -> Silence:
    """End a silence now (as Alertmanager's DELETE does); expiring twice changes nothing."""
    silence = get_silence(session, silence_id)
    if silence.expired_at is not None:
        return silence
    silence.expired_at = now
    if as_utc(silence.ends_at) > now:
        silence.ends_at = now
    if as_utc(silence.starts_at) > as_utc(silence.ends_at):
        silence.starts_at = silence.ends_at
    session.add(silence)
    session.flush()
    return silence


def active_silences(session: Session, now: datetime) -> list[Silence]:
    query = select(Silence).where(
        col(Silence.starts_at) <= now,
        col(Silence.ends_at) > now,
        col(Silence.expired_at).is_(None),
    )
    return list(session.exec(query.order_by(col(Silence.id))).all())


def list_silences(
    session: Session, now: datetime, *, include_expired: bool = True
) -> list[Silence]:
    query = select(Silence)
    if not include_expired:
        query = query.where(col(Silence.ends_at) > now, col(Silence.expired_at).is_(None))
    return list(session.exec(query.order_by(col(Silence.ends_at).desc())).all())


_MATCHER_LINE = re.compile(
    r'^\s*([^\s=!~"]+)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"\s]*))\s*$'
)
_ESCAPE = re.compile(r'\\([\\"])')
_OPS = {"=": (False, True), "!=": (False, False), "=~": (True, True), "!~": (True, False)}


def parse_matcher_lines(text: str) -> list[dict[str, Any]]:
    """Matchers written one per line (or comma-separated) as `name="value"`, `name=~"re"`,
    `name!="value"`, `name!~"re"`, as amtool and the Alertmanager UI accept them."""
    matchers = []
    lines = [part for line in text.splitlines() for part in _split_commas(line)]
    for number, line in enumerate((p for p in lines if p.strip()), start=1):
        match = _MATCHER_LINE.match(line)
        if match is None:
            raise SilenceError(
                f'matcher {number}: {line.strip()!r} is not name="value" (operators: = != =~ !~)',
                field="matchers",
            )
        name, op, quoted, bare = match.groups()
        # only \" and \\ are escapes; other backslashes stay (regexes such as \d+)
        value = _ESCAPE.sub(r"\1", quoted) if quoted is not None else bare
        is_regex, is_equal = _OPS[op]
        matchers.append({"name": name, "value": value, "isRegex": is_regex, "isEqual": is_equal})
    return validate_matchers(matchers)


def _split_commas(line: str) -> list[str]:
    """Split on commas outside double quotes."""
    parts, current, quoted, escaped = [], "", False, False
    for char in line:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            parts.append(current)
            current = ""
            continue
        current += char
    parts.append(current)
    return parts


def format_matchers(matchers: Sequence[Mapping[str, Any]]) -> str:
    """The one-per-line text form that parse_matcher_lines reads back."""
    lines = []
    for m in matchers:
        op = {v: k for k, v in _OPS.items()}[(bool(m.get("isRegex")), bool(m.get("isEqual", True)))]
        value = str(m["value"]).replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'{m["name"]}{op}"{value}"')
    return "\n".join(lines)


def silence_as_dict(silence: Silence, now: datetime) -> dict[str, Any]:
    """Alertmanager API v2's gettableSilence shape (plus createdAt)."""

    def iso(moment: datetime) -> str:
        return as_utc(moment).isoformat().replace("+00:00", "Z")

    return {
        "id": silence.id,
        "matchers": silence.matcher_list,
        "startsAt": iso(silence.starts_at),
        "endsAt": iso(silence.ends_at),
        "createdBy": silence.created_by,
        "comment": silence.comment,
        "createdAt": iso(silence.created_at),
        "status": {"state": silence_state(silence, now).value},
    }
