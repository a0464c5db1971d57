"""Demo-mode wiring: run the simulated web shop in a thread, scrape it, give it services and SLOs.

Also loads the configured services once at start, so a bad `services`/`slos` section stops
`opsloop serve` with a configuration error instead of failing later on a page. When the
config file describes no services, the demo's services, SLOs and alert shorthands are put
into the runtime's config itself, so every area (alert rules, feedback tagging, plan) sees
the same demo service rather than each falling back on its own.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import make_server

from collector.demo import JOB, WebShop, demo_config, make_wsgi_app
from collector.errors import ServiceConfigError
from collector.models import TargetSource
from collector.services import load_services
from collector.targets import delete_target, ensure_target, list_targets
from core.config import RawConfig
from core.db import session_scope
from core.errors import ConfigError
from core.runtime import Runtime

log = logging.getLogger(__name__)

DEMO_HOST = "127.0.0.1"
SCRAPE_INTERVAL_S = 15.0
SCRAPE_TIMEOUT_S = 10.0
# The demo's incidents must reach the plan as alerts: its error bursts burn the SLO budgets
# at page speed (SLOErrorBudgetBurn), and TargetDown covers the shop not answering.
DEMO_SHORTHANDS = {"target_down": True, "slo_burn": True}


@dataclass
class DemoShop:
    """The running demo shop: where it listens, and how to stop it."""

    url: str
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def with_demo_config(config: RawConfig) -> RawConfig:
    """The config plus the demo's services and SLOs, and alert shorthands unless it sets them."""
    data = {**config.data, **demo_config().data}
    alerting = dict(config.section("alerting") or {})
    alerting.setdefault("shorthands", dict(DEMO_SHORTHANDS))
    data["alerting"] = alerting
    return RawConfig(data=data, path=config.path)


def prepare_services(runtime: Runtime) -> None:
    """Parse the services/slos sections into runtime.areas["services"] (demo ones if none)."""
    try:
        services = load_services(runtime.config)
        if not services and runtime.demo:
            runtime.config = with_demo_config(runtime.config)
            services = load_services(runtime.config)
    except ServiceConfigError as exc:
        raise ConfigError(str(exc)) from exc
    runtime.areas["services"] = services


def _port(preferred: int) -> int:
    """The preferred port (the target URL stays the same across restarts) or a free one."""
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind((DEMO_HOST, port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError("no free port for the demo shop")


def start_demo(runtime: Runtime) -> DemoShop:
    """Serve the shop on a local port and register it as the scrape target of job webshop."""
    shop = WebShop(runtime.now())
    app = make_wsgi_app(shop, runtime.now)
    server = make_server(DEMO_HOST, _port(runtime.settings.port + 1), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="demo-webshop", daemon=True)
    thread.start()
    url = f"http://{DEMO_HOST}:{server.server_port}/metrics"
    with session_scope(runtime.engine) as session:
        for old in list_targets(session, job=JOB):
            if old.source == TargetSource.DEMO.value and old.url != url and old.id is not None:
                delete_target(session, old.id)  # the shop of an earlier run, on another port
        ensure_target(
            session,
            job=JOB,
            url=url,
            labels={},
            interval_s=SCRAPE_INTERVAL_S,
            timeout_s=SCRAPE_TIMEOUT_S,
            source=TargetSource.DEMO,
        )
    log.info("demo web shop serving %s", url)
    return DemoShop(url, server, thread)
