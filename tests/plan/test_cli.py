"""`opsloop plan ...` as a user runs it: a real process on a real SQLite file."""

import json

from sqlmodel import Session

from alerts.models import Alert
from core.db import create_db_engine
from core.migrate import upgrade
from tests.opsloop.test_cli import run_opsloop
from tests.plan.conftest import NOW


def test_plan_triage_then_items_prints_the_ranked_backlog(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    _make_alert_in(url)
    env = {"DATABASE_URL": url, "OPSLOOP_SECRET_KEY": "x" * 32}
    triaged = run_opsloop(["plan", "triage", "--no-slo"], env, tmp_path=tmp_path)
    assert triaged.returncode == 0, triaged.stderr
    assert "1 new evidence on 1 item(s)" in triaged.stdout
    listed = run_opsloop(["plan", "items"], env, tmp_path=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "1. #1 [incident/new] webshop: HighErrorRate" in listed.stdout
    bad = run_opsloop(["plan", "items", "--status", "open"], env, tmp_path=tmp_path)
    assert bad.returncode == 1 and "status must be one of" in bad.stderr


def _make_alert_in(url):
    engine = create_db_engine(url)
    upgrade(engine)
    with Session(engine) as s:
        labels = {"alertname": "HighErrorRate", "service": "webshop", "severity": "critical"}
        s.add(
            Alert(
                fingerprint="00000000000000aa",
                source="own",
                state="firing",
                alertname="HighErrorRate",
                service="webshop",
                labels=json.dumps(labels),
                annotations="{}",
                starts_at=NOW,
                fired_at=NOW,
                last_seen_at=NOW,
            )
        )
        s.commit()
    engine.dispose()
