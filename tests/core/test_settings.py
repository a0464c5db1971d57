from pathlib import Path

import pytest

from core.errors import SettingsError
from core.settings import LogFormat, ensure_secret_key, load_settings


def test_defaults_are_the_embedded_sqlite_setup():
    s = load_settings({})
    assert s.database_url == "sqlite:///var/opsloop.db"
    assert s.is_sqlite
    assert (s.host, s.port) == ("127.0.0.1", 8000)
    assert s.log_format is LogFormat.TEXT
    assert s.config_path is None


def test_postgres_urls_are_routed_to_psycopg3():
    s = load_settings({"DATABASE_URL": "postgresql://u@db:5432/opsloop"})
    assert s.database_url == "postgresql+psycopg://u@db:5432/opsloop"
    assert not s.is_sqlite


@pytest.mark.parametrize(
    ("env", "variable", "fragment"),
    [
        ({"DATABASE_URL": "nonsense://x"}, "DATABASE_URL", "unsupported scheme 'nonsense'"),
        ({"DATABASE_URL": "sqlite:/relative.db"}, "DATABASE_URL", "sqlite:///"),
        ({"DATABASE_URL": "postgresql:///"}, "DATABASE_URL", "names no host"),
        ({"OPSLOOP_PORT": "eighty"}, "OPSLOOP_PORT", "not a whole number"),
        ({"OPSLOOP_PORT": "70000"}, "OPSLOOP_PORT", "outside 1..65535"),
        ({"OPSLOOP_LOG_FORMAT": "xml"}, "OPSLOOP_LOG_FORMAT", "not one of json, text"),
        ({"OPSLOOP_LOG_LEVEL": "loud"}, "OPSLOOP_LOG_LEVEL", "not one of"),
        ({"OPSLOOP_CONFIG": "/no/such/file.yaml"}, "OPSLOOP_CONFIG", "not a readable file"),
        ({"OPSLOOP_SECRET_KEY": "short"}, "OPSLOOP_SECRET_KEY", "at least 16"),
        ({"OPSLOOP_BASE_URL": "ftp://x"}, "OPSLOOP_BASE_URL", "not an http(s) URL"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL", "not a redis:// URL"),
        ({"OPSLOOP_THREADS": "0"}, "OPSLOOP_THREADS", "outside"),
    ],
)
def test_a_junk_value_names_the_variable_and_the_problem(env, variable, fragment):
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    assert info.value.variable == variable
    assert str(info.value).startswith(f"{variable}: ")
    assert fragment in str(info.value)


def test_a_missing_secret_key_is_generated_once_and_kept(tmp_path: Path):
    s = load_settings({"OPSLOOP_VAR_DIR": str(tmp_path / "var")})
    first = ensure_secret_key(s).secret_key
    second = ensure_secret_key(s).secret_key
    assert len(first) >= 32
    assert first == second
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o777 == 0o600


def test_a_configured_secret_key_wins(tmp_path: Path):
    s = load_settings({"OPSLOOP_SECRET_KEY": "k" * 20, "OPSLOOP_VAR_DIR": str(tmp_path)})
    assert ensure_secret_key(s).secret_key == "k" * 20
    assert not (tmp_path / "secret_key").exists()
