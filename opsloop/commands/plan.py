"""`opsloop plan ...`: run the plan stage's steps once, and print the ranked backlog."""

from __future__ import annotations

import json

import click
from sqlmodel import Session

from collector.services import ServiceSpec, load_services
from core.db import reading
from core.runtime import Runtime, build_runtime
from plan.config import plan_config_for
from plan.errors import ItemError
from plan.items import ranked_items
from plan.periodic import run_rescore, run_triage, run_verification
from plan.signals import error_ratio_probe, slo_observations, watched_services

# The short form of the row the plan API gives: enough to script against the ranking.
_JSON_FIELDS = ("rank", "id", "title", "kind", "service", "status", "score", "ranked_first")


@click.group("plan")
def plan() -> None:
    """The ranked backlog: triage, verification, the list."""


def _services(runtime: Runtime) -> list[ServiceSpec]:
    return watched_services(runtime.engine, load_services(runtime.config), runtime.now())


@plan.command("triage")
@click.option("--no-slo", is_flag=True, help="Skip SLO burn (alerts and themes only).")
def triage(no_slo: bool) -> None:
    """Turn firing alerts, burning SLOs and feedback themes into items, once."""
    runtime = build_runtime(migrate=True)
    cfg = plan_config_for(runtime)
    observed = [] if no_slo else slo_observations(runtime.engine, _services(runtime), runtime.now())
    result = run_triage(runtime.engine, cfg, runtime.now(), observed)
    run_rescore(runtime.engine, cfg, runtime.now())
    click.echo(f"{result.evidence_added} new evidence on {len(result.items_touched)} item(s)")


@plan.command("verify")
def verify() -> None:
    """Flag regressions after deploys and decide released items whose window has passed."""
    runtime = build_runtime(migrate=True)
    probe = error_ratio_probe(runtime.engine, _services(runtime))
    counts = run_verification(runtime.engine, plan_config_for(runtime), runtime.now(), probe)
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


@plan.command("items")
@click.option("--status", help="Only items with this status.")
@click.option("--service", help="Only items of this service.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per item and line.")
def items(status: str | None, service: str | None, as_json: bool) -> None:
    """The backlog in rank order, with each item's score."""
    runtime = build_runtime(migrate=True)
    with Session(reading(runtime.engine)) as session:
        try:
            ranked = ranked_items(
                session, plan_config_for(runtime), runtime.now(), status=status, service=service
            )
        except ItemError as exc:
            raise click.ClickException(str(exc)) from exc
    for entry in ranked:
        item = entry.item
        if as_json:
            row = entry.as_row()
            click.echo(json.dumps({key: row[key] for key in _JSON_FIELDS}))
        else:
            first = " *" if entry.score.ranked_first else ""
            click.echo(
                f"{entry.position:>3}. #{item.id} [{item.kind}/{item.status}] {item.title}"
                f"  score {entry.score.score:.3g}{first}"
            )
