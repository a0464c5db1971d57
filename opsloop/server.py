"""The processes: embedded (web + scheduler), web alone under gunicorn, worker alone."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType
from typing import Any

import click
from waitress.server import create_server

from core.accounts import count_users, create_user, generate_password
from core.db import session_scope
from core.models import Role
from core.runtime import Runtime
from opsloop.demo import prepare_services, start_demo
from opsloop.scheduler import build_scheduler
from web.app import create_app

log = logging.getLogger(__name__)


def ensure_admin(runtime: Runtime) -> str | None:
    """On an empty user table, create `admin` with a random password and return it."""
    with session_scope(runtime.engine) as session:
        if count_users(session) > 0:
            return None
        password = generate_password()
        create_user(session, "admin", password, Role.ADMIN, runtime.now())
        return password


def serve(runtime: Runtime) -> None:
    """Web app under waitress and the scheduler, in one process; SIGTERM stops both."""
    password = ensure_admin(runtime)
    prepare_services(runtime)
    if runtime.demo:
        start_demo(runtime)
    app = create_app(runtime)
    scheduler = build_scheduler(runtime)
    server = create_server(
        app,
        host=runtime.settings.host,
        port=runtime.settings.port,
        threads=runtime.settings.threads,
        ident="opsloop",
    )
    url = f"http://{runtime.settings.host}:{runtime.settings.port}"
    banner = [f"opsloop is running on {url}"]
    if password:
        banner += [
            "An admin user was created. Log in with:",
            "  user:     admin",
            f"  password: {password}",
            "(shown once; add users with `opsloop user add NAME --role ROLE`)",
        ]
    click.echo("\n".join(banner), err=False)
    sys.stdout.flush()
    _stop_on_sigterm()
    scheduler.start()
    try:
        server.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        log.info("stopping")
        scheduler.shutdown(wait=False)
        server.close()
        runtime.engine.dispose()


def worker(runtime: Runtime) -> None:
    prepare_services(runtime)
    scheduler = build_scheduler(runtime, blocking=True)
    _stop_on_sigterm()
    log.info("worker started with %d jobs", len(scheduler.get_jobs()))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        runtime.engine.dispose()


def web(runtime: Runtime, workers: int) -> None:
    """The web app alone under gunicorn, for N stateless processes behind a balancer."""
    prepare_services(runtime)
    from gunicorn.app.base import BaseApplication

    class _Gunicorn(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{runtime.settings.host}:{runtime.settings.port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", runtime.settings.threads)
            self.cfg.set("worker_class", "gthread")

        def load(self) -> Any:
            return create_app(runtime)

    _Gunicorn().run()


def _stop_on_sigterm() -> None:
    def _raise(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _raise)
