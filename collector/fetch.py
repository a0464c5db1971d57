"""The one outbound HTTP seam of the collector: GET an exposition exactly as Prometheus does."""

from __future__ import annotations

import base64
import time

import urllib3
from urllib3.exceptions import HTTPError, MaxRetryError, NewConnectionError, TimeoutError

from collector.errors import ScrapeError
from core import __version__

# What Prometheus 3 sends by default (scrape_protocols OpenMetricsText1.0.0,
# OpenMetricsText0.0.1, PrometheusText1.0.0, PrometheusText0.0.4; q from 0.6 down).
ACCEPT_HEADER = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,"
    "*/*;q=0.2"
)
USER_AGENT = f"opsloop/{__version__}"
_CHUNK_BYTES = 64 * 1024
# Thread-safe, keeps connections alive between scrapes; no proxy or .netrc from the
# environment: a target is reached as configured. Redirects are followed, as Prometheus does.
_POOL = urllib3.PoolManager(
    num_pools=256,
    maxsize=2,
    retries=urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5),
)


def fetch(
    url: str,
    *,
    timeout_s: float,
    body_limit_bytes: int,
    headers: dict[str, str] | None = None,
    basic_auth: tuple[str, str] | None = None,
) -> tuple[str, str | None]:
    """GET an exposition; (decoded body, Content-Type) or ScrapeError saying why not.

    The limit applies to the uncompressed body; the deadline to the whole exchange (each
    socket wait is bounded by timeout_s too, so a stalled read ends within it).
    """
    deadline = time.monotonic() + timeout_s
    sent = {
        "Accept": ACCEPT_HEADER,
        "Accept-Encoding": "gzip",
        "User-Agent": USER_AGENT,
        "X-Prometheus-Scrape-Timeout-Seconds": f"{timeout_s:g}",
    }
    if basic_auth is not None:
        pair = f"{basic_auth[0]}:{basic_auth[1]}".encode()
        sent["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    sent.update(headers or {})
    try:
        resp = _POOL.request(
            "GET", url, headers=sent, timeout=urllib3.Timeout(timeout_s), preload_content=False
        )
        try:  # read it all, or close it: a half-read connection cannot be reused
            if resp.status != 200:
                raise ScrapeError(f"server returned HTTP status {resp.status} {resp.reason}")
            chunks, size = [], 0
            # read1 returns what has arrived, so the deadline is checked while a slow
            # target drips its answer.
            while chunk := resp.read1(_CHUNK_BYTES, decode_content=True):
                size += len(chunk)
                if body_limit_bytes and size > body_limit_bytes:
                    raise ScrapeError(
                        f"body size limit exceeded: more than {body_limit_bytes} bytes"
                    )
                if time.monotonic() > deadline:
                    raise ScrapeError(f"timeout: no complete answer within {timeout_s:g}s")
                chunks.append(chunk)
            content_type = resp.headers.get("Content-Type")
        except BaseException:
            resp.close()
            raise
        resp.release_conn()
    except HTTPError as exc:
        cause = exc.reason if isinstance(exc, MaxRetryError) and exc.reason else exc
        if isinstance(cause, NewConnectionError):  # (a ConnectTimeoutError subclass)
            raise ScrapeError(f"cannot connect: {_short(cause)}") from exc
        if isinstance(cause, TimeoutError):
            raise ScrapeError(f"timeout: no answer within {timeout_s:g}s") from exc
        raise ScrapeError(f"cannot fetch: {_short(cause)}") from exc
    except OSError as exc:
        raise ScrapeError(f"cannot read the answer: {_short(exc)}") from exc
    try:
        return b"".join(chunks).decode("utf-8"), content_type
    except UnicodeDecodeError as exc:
        raise ScrapeError(f"the body is not UTF-8: {exc.reason} at byte {exc.start}") from exc


def _short(exc: BaseException) -> str:
    # "HTTPConnection(host=..., port=...): Failed to establish..." -> what failed and why
    text = str(exc).split("): ", 1)[-1]
    return text if len(text) <= 300 else text[:297] + "..."
