"""A real HTTP server on 127.0.0.1 that plays scrape targets: good, slow, hanging, huge..."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TEXT = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@dataclass
class Route:
    body: str | Callable[[], str] = "up_ok 1\n"
    content_type: str = TEXT
    status: int = 200
    delay_s: float = 0.0
    gzip: bool = False
    drip_bytes: int = 0  # send in pieces of this size, sleeping delay_s between them


@dataclass
class MetricsServer:
    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(server: MetricsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            server.requests.append({"path": self.path, **dict(self.headers.items())})
            route = server.routes.get(self.path.split("?")[0])
            if route is None:
                self.send_error(404)
                return
            if route.delay_s and not route.drip_bytes:
                server.stop.wait(route.delay_s)
            text = route.body() if callable(route.body) else route.body
            data = text.encode()
            if route.gzip:
                data = gzip.compress(data)
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            if route.gzip:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                if route.drip_bytes:
                    for i in range(0, len(data), route.drip_bytes):
                        self.wfile.write(data[i : i + route.drip_bytes])
                        self.wfile.flush()
                        if server.stop.wait(route.delay_s):
                            return
                else:
                    self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


@contextmanager
def metrics_server(routes: dict[str, Route] | None = None) -> Iterator[MetricsServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    httpd.daemon_threads = True
    server = MetricsServer(port=httpd.server_address[1], routes=dict(routes or {}))
    httpd.RequestHandlerClass = _handler(server)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        httpd.shutdown()
        httpd.server_close()
