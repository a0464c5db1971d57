"""The `opsloop` command as a user runs it: a real process, real environment variables."""

import os
import subprocess
import sys

import pytest


def run_opsloop(args, env_extra, stdin=None, tmp_path=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSLOOP_", "DATABASE_URL"))}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "opsloop", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "nonsense://x"),
        ("OPSLOOP_PORT", "not-a-port"),
        ("OPSLOOP_LOG_FORMAT", "yaml"),
        ("OPSLOOP_CONFIG", "/nope.yaml"),
    ],
)
def test_a_bad_setting_exits_2_with_one_line(tmp_path, variable, value):
    result = run_opsloop(["db", "upgrade"], {variable: value}, tmp_path=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


def test_a_broken_config_file_exits_2(tmp_path):
    bad = tmp_path / "opsloop.yml"
    bad.write_text("scrape_configs: [\n")
    result = run_opsloop(["db", "upgrade"], {"OPSLOOP_CONFIG": str(bad)}, tmp_path=tmp_path)
    assert result.returncode == 2
    assert "invalid YAML" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_user_add_and_token_add(tmp_path, database_url):
    env = {"DATABASE_URL": database_url, "OPSLOOP_VAR_DIR": str(tmp_path / "var")}
    added = run_opsloop(
        ["user", "add", "dana", "--role", "editor", "--password-stdin"],
        env,
        stdin="long-enough-pw\n",
        tmp_path=tmp_path,
    )
    assert added.returncode == 0, added.stderr
    assert "'dana' added with role editor" in added.stdout
    again = run_opsloop(
        ["user", "add", "dana", "--password-stdin"], env, stdin="another-pw1\n", tmp_path=tmp_path
    )
    assert again.returncode == 1
    assert "already exists" in again.stderr

    token = run_opsloop(["token", "add", "ci", "--scope", "write"], env, tmp_path=tmp_path)
    assert token.returncode == 0, token.stderr
    last = token.stdout.strip().splitlines()[-1]
    assert last.startswith("opl_") and " " not in last


def test_user_add_refuses_a_short_password(tmp_path, database_url):
    env = {"DATABASE_URL": database_url, "OPSLOOP_VAR_DIR": str(tmp_path / "var")}
    result = run_opsloop(
        ["user", "add", "eve", "--password-stdin"], env, stdin="short\n", tmp_path=tmp_path
    )
    assert result.returncode == 1
    assert "at least 8" in result.stderr


def test_db_current_tells_pending_then_current(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "OPSLOOP_VAR_DIR": str(tmp_path)}
    before = run_opsloop(["db", "current"], env, tmp_path=tmp_path)
    assert before.returncode == 1
    assert "pending: " in before.stdout
    assert run_opsloop(["db", "upgrade"], env, tmp_path=tmp_path).returncode == 0
    assert run_opsloop(["db", "current"], env, tmp_path=tmp_path).returncode == 0
