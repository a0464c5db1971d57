"""A real HTTP server on 127.0.0.1 that plays outside feedback sources (a forum, a feed)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeSite:
    """Routes path -> handler(query, request headers) -> Reply; records every request."""

    routes: dict[str, Callable[[dict[str, list[str]], dict[str, str]], Reply]] = field(
        default_factory=dict
    )
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    # replies served before the routes, once each (e.g. a 429)
    queued: list[Reply] = field(default_factory=list)
    url: str = ""


def json_reply(data: Any, **headers: str) -> Reply:
    return Reply(200, json.dumps(data).encode(), {"Content-Type": "application/json", **headers})


@contextmanager
def serve(site: FakeSite) -> Iterator[FakeSite]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            headers = {k: v for k, v in self.headers.items()}
            site.requests.append((self.path, headers))
            if site.queued:
                reply = site.queued.pop(0)
            elif parts.path in site.routes:
                reply = site.routes[parts.path](parse_qs(parts.query), headers)
            else:
                reply = Reply(404, b"not found")
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
