"""The `opsloop` command line."""

from __future__ import annotations

import sys

import click

from core import __version__
from core.accounts import create_token, create_user
from core.db import session_scope
from core.errors import AuthError, ConfigError, SettingsError
from core.migrate import alembic_config, pending_heads, upgrade
from core.models import Role, Scope
from core.runtime import Runtime, build_runtime
from core.settings import load_settings
from opsloop.commands import register_area_commands


class RuntimeContext:
    """Builds the runtime lazily so that `--help` works without a database."""

    def __init__(self) -> None:
        self._runtime: Runtime | None = None

    def get(self, *, migrate: bool = False, demo: bool = False) -> Runtime:
        if self._runtime is None:
            self._runtime = build_runtime(migrate=migrate, demo=demo)
        return self._runtime


pass_ctx = click.make_pass_decorator(RuntimeContext, ensure=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="opsloop")
def cli() -> None:
    """opsloop: metrics, alerts and user feedback, turned into one ranked plan."""


@cli.command()
@click.option("--host", help="Listen address (default OPSLOOP_HOST or 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default OPSLOOP_PORT or 8000).")
@click.option("--demo", is_flag=True, help="Also run a simulated service and sample feedback.")
def serve(host: str | None, port: int | None, demo: bool) -> None:
    """Run everything in one process: web app, scheduler, embedded database."""
    from opsloop.server import serve as run_serve

    runtime = _runtime_with_address(host, port, demo=demo)
    run_serve(runtime)


@cli.command()
@click.option("--host", help="Listen address (default OPSLOOP_HOST or 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default OPSLOOP_PORT or 8000).")
@click.option("--workers", type=click.IntRange(1, 64), help="gunicorn processes.")
def web(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the web app alone (gunicorn), for scale: pair it with `opsloop worker`."""
    from opsloop.server import web as run_web

    runtime = _runtime_with_address(host, port, demo=False, migrate=False)
    run_web(runtime, workers or runtime.settings.web_workers)


@cli.command()
def worker() -> None:
    """Run the scheduled jobs alone (scrapes, rule evaluation, notifications, polling)."""
    from opsloop.server import worker as run_worker

    run_worker(build_runtime(migrate=True))


def _runtime_with_address(
    host: str | None, port: int | None, *, demo: bool, migrate: bool = True
) -> Runtime:
    settings = load_settings()
    changes: dict[str, object] = {}
    if host:
        changes["host"] = host
    if port:
        changes["port"] = port
    return build_runtime(settings.with_overrides(**changes), migrate=migrate, demo=demo)


@cli.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    runtime = build_runtime()
    upgrade(runtime.engine)
    click.echo("database is up to date")


@db.command("current")
def db_current() -> None:
    """Exit 0 when the database is current, 1 (listing what is pending) when not."""
    runtime = build_runtime()
    missing = pending_heads(runtime.engine)
    if missing:
        click.echo(f"pending: {', '.join(sorted(missing))}")
        sys.exit(1)
    click.echo("database is up to date")


@db.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--head", default="heads", help="Branch head to build on (an area's label@head).")
@click.option("--branch-label", default=None)
def db_revision(message: str, head: str, branch_label: str | None) -> None:
    """Autogenerate a migration from the models (developers)."""
    from alembic import command

    from opsloop.models import all_metadata

    runtime = build_runtime()
    cfg = alembic_config(runtime.engine, all_metadata())
    command.revision(cfg, message=message, autogenerate=True, head=head, branch_label=branch_label)


@cli.group()
def user() -> None:
    """Users of the dashboard."""


@user.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.VIEWER.value,
    show_default=True,
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add(name: str, role: str, password_stdin: bool) -> None:
    """Add a user; the password comes from a prompt or --password-stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    runtime = build_runtime(migrate=True)
    try:
        with session_scope(runtime.engine) as session:
            create_user(session, name, password, Role(role), runtime.now())
    except AuthError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"user {name!r} added with role {role}")


@cli.group()
def token() -> None:
    """API tokens (for CI deploy markers, alert webhooks, feedback intake)."""


@token.command("add")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice([s.value for s in Scope]),
    help="read, write or admin; repeat for several (default: read and write).",
)
def token_add(name: str, scopes: tuple[str, ...]) -> None:
    """Create a token; it is printed once, alone on the last line."""
    runtime = build_runtime(migrate=True)
    chosen = [Scope(s) for s in scopes] or [Scope.READ, Scope.WRITE]
    try:
        with session_scope(runtime.engine) as session:
            clear = create_token(session, name, chosen, runtime.now())
    except AuthError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"token {name!r} created with scopes {', '.join(sorted(chosen))}; it is shown only now:"
    )
    click.echo(clear)


register_area_commands(cli)


def main() -> None:
    """Entry point: a bad setting or config ends with exit 2 and one line, no traceback."""
    try:
        cli.main(standalone_mode=False, prog_name="opsloop")
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (SettingsError, ConfigError) as exc:
        click.echo(f"opsloop: configuration error: {exc}", err=True)
        sys.exit(2)
