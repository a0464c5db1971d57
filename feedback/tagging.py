"""Service tagging: which watched service a post talks about, from keyword rules.

Rules come from config (`feedback: analysis: services: {name: [keyword, ...]}`); every
service's own name is a keyword too. A choice the user made (the form's service field)
always wins over the rules. When several services match, the one with most keyword hits
wins, ties going to the first in config order, so the result is deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from feedback.errors import FeedbackConfigError


class ServiceTagger:
    def __init__(self, rules: Mapping[str, Sequence[str]] | None = None) -> None:
        self._services: list[str] = []
        patterns: list[str] = []
        for index, (service, keywords) in enumerate((rules or {}).items()):
            name = _service_name(service)
            if isinstance(keywords, str) or not isinstance(keywords, Sequence):
                raise FeedbackConfigError(f"services: {name}: needs a list of keywords")
            terms = {name.lower()} | {_keyword(name, k) for k in keywords}
            self._services.append(name)
            words = (r"\s+".join(map(re.escape, t.split())) for t in sorted(terms, key=len)[::-1])
            patterns.append(f"(?P<s{index}>" + "|".join(words) + ")")
        self._pattern = (
            re.compile(r"(?<!\w)(?:" + "|".join(patterns) + r")(?!\w)", re.IGNORECASE)
            if patterns
            else None
        )

    @property
    def services(self) -> list[str]:
        return list(self._services)

    def tag(self, text: str, hint: str | None = None) -> str | None:
        if hint:
            return hint
        if self._pattern is None:
            return None
        hits: dict[int, int] = {}
        for match in self._pattern.finditer(text):
            index = int((match.lastgroup or "s0")[1:])
            hits[index] = hits.get(index, 0) + 1
        if not hits:
            return None
        best = max(hits.items(), key=lambda item: (item[1], -item[0]))[0]
        return self._services[best]


def _service_name(service: object) -> str:
    if not isinstance(service, str) or not re.fullmatch(r"[A-Za-z0-9][\w.-]{0,79}", service):
        raise FeedbackConfigError(
            f"services: {service!r} is not a service name (letters, digits, . _ -)"
        )
    return service


def _keyword(service: str, keyword: object) -> str:
    if not isinstance(keyword, str) or not keyword.strip():
        raise FeedbackConfigError(f"services: {service}: {keyword!r} is not a keyword")
    return " ".join(keyword.lower().split())
