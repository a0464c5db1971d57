"""Shared fixtures: settings, an engine on a fresh database (SQLite and PostgreSQL), app, client."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from core.accounts import create_token, create_user
from core.clock import utcnow
from core.config import RawConfig
from core.db import create_db_engine
from core.metrics import OpsMetrics
from core.migrate import upgrade
from core.models import Role, Scope
from core.runtime import Runtime
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"
DEFAULT_PG_URL = "postgresql://127.0.0.1:5432/test"
TEST_SECRET = "test-secret-key-0123456789abcdef"


def fixture_path(*parts: str) -> Path:
    """A file of ../shared/fixtures; the test is skipped, saying why, when it is absent."""
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared fixture {path} is absent (the ../shared/fixtures folder is not here)")
    return path


# ---------------------------------------------------------------- databases


def _postgres_required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("OPSLOOP_REQUIRE_POSTGRES"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A database of this test session's own on the PostgreSQL server, migrated once."""
    server = os.environ.get("OPSLOOP_TEST_POSTGRES_URL", DEFAULT_PG_URL)
    admin_url = make_url(server.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"opsloop_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL at {server} is unreachable: {str(exc).splitlines()[0]}"
        if _postgres_required():
            pytest.fail(reason + " (required under CI / OPSLOOP_REQUIRE_POSTGRES)")
        yield None
        return
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if db_backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "opsloop.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    url: str | None = request.getfixturevalue("postgres_url")
    if url is None:
        pytest.skip("PostgreSQL is unreachable; set OPSLOOP_TEST_POSTGRES_URL")
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    try:
        yield engine
    finally:
        if engine.dialect.name == "postgresql":
            _truncate_all(engine)
        engine.dispose()


def _truncate_all(engine: Engine) -> None:
    tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    if tables:
        quoted = ", ".join(f'"{t}"' for t in tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


# ---------------------------------------------------------------- app


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, secret_key=TEST_SECRET, var_dir=tmp_path / "var")


@pytest.fixture
def raw_config() -> RawConfig:
    """Override in a test module to give the app a config file's content."""
    return RawConfig()


@pytest.fixture
def runtime(settings: Settings, engine: Engine, raw_config: RawConfig) -> Runtime:
    return Runtime(
        settings=settings, engine=engine, config=raw_config, metrics=OpsMetrics(), clock=utcnow
    )


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    from web.app import create_app

    app = create_app(runtime)
    app.config.update(TESTING=True, RATELIMIT_ENABLED=True)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_user(engine: Engine) -> Callable[..., str]:
    """Create a user; returns its password."""

    def make(name: str = "alice", role: Role = Role.ADMIN, password: str = "correct-horse") -> str:
        with Session(engine) as s:
            create_user(s, name, password, role, utcnow())
            s.commit()
        return password

    return make


@pytest.fixture
def make_token(engine: Engine) -> Callable[..., str]:
    """Create an API token; returns its clear text."""

    def make(name: str = "ci", scopes: tuple[Scope, ...] = (Scope.READ, Scope.WRITE)) -> str:
        with Session(engine) as s:
            clear = create_token(s, name, scopes, utcnow())
            s.commit()
        return clear

    return make


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


def login(client: FlaskClient, name: str, password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"name": name, "password": password, "csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def auth_client(client: FlaskClient, make_user: Callable[..., str]) -> FlaskClient:
    """A client logged in as an admin."""
    login(client, "alice", make_user("alice", Role.ADMIN))
    return client


# ---------------------------------------------------------------- reporting

_BACKEND_COUNTS: dict[str, int] = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    callspec = getattr(item, "callspec", None)
    backend = callspec.params.get("db_backend") if callspec is not None else None
    if backend and report.when == "call" and report.passed:
        _BACKEND_COUNTS[backend] = _BACKEND_COUNTS.get(backend, 0) + 1
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.write_line(
        "database tests passed: "
        f"{_BACKEND_COUNTS.get('sqlite', 0)} on SQLite, "
        f"{_BACKEND_COUNTS.get('postgresql', 0)} on PostgreSQL"
    )
