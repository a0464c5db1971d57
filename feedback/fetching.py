"""Outbound HTTP for feedback sources: one seam with a timeout, a User-Agent and error mapping.

Source URLs come from the config file, which only an administrator writes, so private
addresses are allowed (a forum on the intranet is a normal set-up).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

import requests

from core import __version__
from feedback.errors import RateLimited, SourceUnavailable

USER_AGENT = f"opsloop/{__version__} (feedback poller)"
TIMEOUT_S = 15.0
DEFAULT_RETRY_AFTER_S = 60.0
MAX_RETRY_AFTER_S = 6 * 3600.0


def http_get(
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    params: Mapping[str, str] | None = None,
    now: datetime | None = None,
    timeout_s: float = TIMEOUT_S,
) -> requests.Response:
    """GET a URL; 429 raises RateLimited, other failures SourceUnavailable. 304 is returned."""
    sent = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
    try:
        response = requests.get(url, headers=sent, params=params, timeout=timeout_s)
    except requests.RequestException as exc:
        raise SourceUnavailable(f"GET {url}: {exc.__class__.__name__}: {exc}") from exc
    if response.status_code == 429:
        wait_s = retry_after_s(response.headers.get("Retry-After"), now)
        raise RateLimited(f"GET {url}: 429 Too Many Requests, retry after {wait_s:.0f}s", wait_s)
    if response.status_code >= 400:
        raise SourceUnavailable(f"GET {response.url}: HTTP {response.status_code}")
    return response


def retry_after_s(value: str | None, now: datetime | None) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), bounded."""
    if not value:
        return DEFAULT_RETRY_AFTER_S
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_S
    if now is None or when.tzinfo is None:
        return DEFAULT_RETRY_AFTER_S
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER_S)
