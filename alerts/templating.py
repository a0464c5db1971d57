"""Alert label and annotation templates: the subset of Go's text/template that Prometheus uses.

Written by hand because no maintained Python package renders Go templates (the one on PyPI,
``go-template``, is an unmaintained binding that needs a Go toolchain), and Jinja2's syntax
differs exactly where rule files need it (``$labels``, pipelines, ``{{ humanize $value }}``).

Supported, as in Prometheus rule files:
- ``{{ $labels.name }}``, ``{{ $value }}``, ``{{ .Labels.name }}``, ``{{ .Value }}``,
  ``{{ $externalLabels.name }}``, string and number literals;
- function calls ``{{ humanize $value }}`` and pipelines ``{{ $value | humanize }}``;
- functions: humanize, humanize1024, humanizePercentage, humanizeDuration, printf,
  toUpper, toLower, title;
- whitespace trimming with ``{{-`` and ``-}}``.
Actions (if/range/with/define) are refused with a clear error instead of being misrendered.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from alerts.errors import TemplateError

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_UNSUPPORTED = {"if", "else", "end", "range", "with", "define", "template", "block"}


def go_float(value: float) -> str:
    """A float as Go's %v prints it (what Prometheus shows for `$value`)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    return text


def _go_g(value: float) -> str:
    """Go's %.4g (same rules as C's, but NaN/Inf spelled the Go way)."""
    if math.isnan(value) or math.isinf(value):
        return go_float(value)
    return f"{value:.4g}"


def humanize(value: float) -> str:
    if value == 0 or math.isnan(value) or math.isinf(value):
        return _go_g(value)
    prefix = ""
    if abs(value) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(value) < 1000:
                break
            prefix, value = p, value / 1000
        return f"{_go_g(value)}{prefix}"
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix, value = p, value * 1000
    return f"{_go_g(value)}{prefix}"


def humanize1024(value: float) -> str:
    if abs(value) <= 1 or math.isnan(value) or math.isinf(value):
        return _go_g(value)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(value) < 1024:
            break
        prefix, value = p, value / 1024
    return f"{_go_g(value)}{prefix}"


def humanize_percentage(value: float) -> str:
    return f"{_go_g(value * 100)}%"


def humanize_duration(value: float) -> str:
    """Seconds as Prometheus shows them: `1d 2h 3m 4s`, `1.5s`, `250ms`."""
    if math.isnan(value) or math.isinf(value):
        return _go_g(value)
    if value == 0:
        return "0s"
    if abs(value) >= 1:
        sign = "-" if value < 0 else ""
        value = abs(value)
        whole = int(value)
        seconds, minutes = whole % 60, (whole // 60) % 60
        hours, days = (whole // 3600) % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_go_g(value)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix, value = p, value * 1000
    return f"{_go_g(value)}{prefix}s"


def _to_float(value: object, func: str) -> float:
    if isinstance(value, bool):
        raise TemplateError(f"{func}: expected a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        raise TemplateError(f"{func}: expected a number, got {value!r}") from None


_GO_VERB = re.compile(r"%([-+# 0]*\d*(?:\.\d+)?)([vsdfgeqxX%])")


def printf(fmt: object, *args: object) -> str:
    """Go's fmt.Sprintf for the verbs alert templates use (%s %v %d %f %g %e %q %x)."""
    values = list(args)

    def one(match: re.Match[str]) -> str:
        flags, verb = match.group(1), match.group(2)
        if verb == "%":
            return "%"
        if not values:
            return f"%!{verb}(MISSING)"
        value = values.pop(0)
        if verb in "vs":
            text = go_float(value) if isinstance(value, float) else str(value)
            return f"%{flags}s" % text
        if verb == "q":
            return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        number = _to_float(value, "printf")
        if verb in "dxX":
            return f"%{flags}{verb}" % int(number)
        return f"%{flags}{verb}" % number

    return _GO_VERB.sub(one, str(fmt))


FUNCTIONS: dict[str, Callable[..., str]] = {
    "humanize": lambda v: humanize(_to_float(v, "humanize")),
    "humanize1024": lambda v: humanize1024(_to_float(v, "humanize1024")),
    "humanizePercentage": lambda v: humanize_percentage(_to_float(v, "humanizePercentage")),
    "humanizeDuration": lambda v: humanize_duration(_to_float(v, "humanizeDuration")),
    "printf": printf,
    "toUpper": lambda s: str(s).upper(),
    "toLower": lambda s: str(s).lower(),
    "title": lambda s: str(s).title(),
}


@dataclass(frozen=True)
class TemplateData:
    labels: Mapping[str, str]
    value: float
    external_labels: Mapping[str, str] | None = None


@dataclass(frozen=True)
class _Command:
    words: tuple[str, ...]


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and actions, checked once, rendered many times."""

    source: str
    parts: tuple[str | tuple[_Command, ...], ...]

    def render(self, data: TemplateData) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value: object = None
            for index, command in enumerate(part):
                piped = () if index == 0 else (value,)
                value = _run(command, data, piped)
            out.append(go_float(value) if isinstance(value, float) else str(value))
        return "".join(out)


def parse_template(source: str) -> Template:
    """Parse once; raise TemplateError naming the bad action."""
    parts: list[str | tuple[_Command, ...]] = []
    pos = 0
    for match in _ACTION.finditer(source):
        literal = source[pos : match.start()]
        if match.group(1):
            literal = literal.rstrip()
        parts.append(literal)
        parts.append(_parse_action(match.group(2).strip(), match.group(0)))
        pos = match.end()
        if match.group(3):
            rest = source[pos:]
            pos += len(rest) - len(rest.lstrip())
    tail = source[pos:]
    if "{{" in tail:
        raise TemplateError(f"unclosed action in {source!r}")
    parts.append(tail)
    return Template(source, tuple(p for p in parts if p != ""))


def render(source: str, data: TemplateData) -> str:
    return parse_template(source).render(data)


def _parse_action(text: str, whole: str) -> tuple[_Command, ...]:
    if not text:
        raise TemplateError(f"empty action {whole}")
    if text.startswith("/*"):
        return (_Command(('""',)),)
    try:
        lexer = shlex.shlex(text, posix=False, punctuation_chars="|")
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError as exc:
        raise TemplateError(f"{whole}: {exc}") from None
    commands: list[_Command] = []
    current: list[str] = []
    for word in [*words, "|"]:
        if word != "|":
            current.append(word)
            continue
        if not current:
            raise TemplateError(f"{whole}: empty command in pipeline")
        commands.append(_check(tuple(current), whole, piped=bool(commands)))
        current = []
    return tuple(commands)


def _check(words: tuple[str, ...], whole: str, *, piped: bool) -> _Command:
    head = words[0]
    if head in _UNSUPPORTED:
        raise TemplateError(f"{whole}: the {head!r} action is not supported in alert templates")
    if head in FUNCTIONS:
        for word in words[1:]:
            _check_operand(word, whole)
        if len(words) == 1 and not piped:
            raise TemplateError(f"{whole}: {head} needs an argument")
        return _Command(words)
    if len(words) > 1:
        raise TemplateError(f"{whole}: {head!r} is not a function")
    if piped:
        raise TemplateError(f"{whole}: {head!r} is not a function, it cannot follow |")
    _check_operand(head, whole)
    return _Command(words)


def _check_operand(word: str, whole: str) -> None:
    if word.startswith(('"', "`")) or _NUMBER.match(word):
        return
    if word in {"$value", ".Value", "$labels", ".Labels"}:
        return
    for prefix in ("$labels.", ".Labels.", "$externalLabels.", ".ExternalLabels."):
        if word.startswith(prefix) and word[len(prefix) :]:
            return
    if word in FUNCTIONS:
        raise TemplateError(f"{whole}: nested call of {word} needs parentheses, use a pipeline")
    raise TemplateError(f"{whole}: unknown name {word!r}")


def _operand(word: str, data: TemplateData) -> object:
    if word.startswith('"'):
        return word[1:-1].encode("utf-8").decode("unicode_escape")
    if word.startswith("`"):
        return word[1:-1]
    if _NUMBER.match(word):
        return float(word) if any(c in word for c in ".eE") else int(word)
    if word in {"$value", ".Value"}:
        return data.value
    if word in {"$labels", ".Labels"}:
        return dict(data.labels)
    for prefix in ("$labels.", ".Labels."):
        if word.startswith(prefix):
            # Go templates print a missing map key as "<no value>"; Prometheus alerts do too.
            return data.labels.get(word[len(prefix) :], "<no value>")
    external = data.external_labels or {}
    return external.get(word.split(".", 2)[-1], "<no value>")


def _run(command: _Command, data: TemplateData, piped: tuple[object, ...]) -> object:
    head = command.words[0]
    if head in FUNCTIONS:
        args = [_operand(w, data) for w in command.words[1:]] + list(piped)
        try:
            return FUNCTIONS[head](*args)
        except TypeError as exc:
            raise TemplateError(f"{head}: {exc}") from None
    return _operand(head, data)
