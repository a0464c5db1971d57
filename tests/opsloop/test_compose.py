"""compose.yaml only uses real opsloop subcommands and known settings."""

from pathlib import Path

import yaml

from core.settings import SETTINGS_DOC
from opsloop.cli import cli

ROOT = Path(__file__).resolve().parents[2]
KNOWN = {name for name, _, _ in SETTINGS_DOC}
FOREIGN_SERVICE_VARS = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}


def _command_path(command) -> list[str]:
    words = command.split() if isinstance(command, str) else list(command)
    if words and words[0] == "opsloop":
        words = words[1:]
    return [w for w in words if not w.startswith("-")]


def test_every_opsloop_command_exists_and_every_variable_is_known():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    opsloop_services = [s for s in compose["services"].values() if "command" in s]
    assert len(opsloop_services) >= 2
    for service in opsloop_services:
        group = cli
        for word in _command_path(service["command"])[:2]:
            assert word in group.commands, f"{service['command']}: no subcommand {word!r}"
            group = group.commands[word]
            if not hasattr(group, "commands"):
                break
        for name in service.get("environment", {}):
            assert name in KNOWN, f"unknown setting {name} in compose.yaml"
    for service in compose["services"].values():
        if "command" not in service:
            assert set(service.get("environment", {})) <= FOREIGN_SERVICE_VARS | KNOWN
        assert "healthcheck" in service


def test_the_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in KNOWN if f"`{name}`" not in readme]
    assert missing == []
