"""Imports follow the arrows of DESIGN.md (web → plan → alerts → collector → core, …)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("opsloop", "core", "collector", "alerts", "feedback", "plan", "web")
ALLOWED = {
    "core": set(),
    "collector": {"core"},
    "feedback": {"core"},
    "alerts": {"collector", "core"},
    "plan": {"alerts", "collector", "feedback", "core"},
    "web": {"plan", "alerts", "collector", "feedback", "core"},
    "opsloop": set(PACKAGES) - {"opsloop"},
}
NO_FLASK = ("core", "collector", "alerts", "feedback", "plan")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_no_import_runs_against_the_arrows():
    wrong = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for name in _imports(path) & set(PACKAGES):
                if name != package and name not in ALLOWED[package]:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_domain_packages_never_import_flask():
    wrong = [
        str(path.relative_to(ROOT))
        for package in NO_FLASK
        for path in (ROOT / package).rglob("*.py")
        if _imports(path) & {"flask", "flask_login", "flask_wtf", "flask_limiter", "apscheduler"}
    ]
    assert wrong == []
