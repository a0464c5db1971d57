"""Plan pages: the ranked list, the board by status, bulk status change, CSV/JSON export.

The item page and its forms live in web/plan_item.py on the same blueprint.
"""

from __future__ import annotations

import csv
import io
import json

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import col, select

from core.models import Role
from plan.config import ExporterConfig, PlanConfig, exporters_for, plan_config_for
from plan.errors import ItemError
from plan.items import ROW_FIELDS, RankedItem, ranked_items, set_status
from plan.models import ExportTarget, Item, ItemKind, ItemStatus
from web.security import principal, require_role
from web.state import db, runtime

bp = Blueprint("plan", __name__, url_prefix="/plan")


def plan_config() -> PlanConfig:
    """The `plan` section (re-read when the config file changes); scores are computed at
    read time with these weights, so a saved change re-ranks the next page load."""
    return plan_config_for(runtime())


def exporters() -> dict[ExportTarget, ExporterConfig]:
    return exporters_for(runtime())


def can_edit() -> bool:
    who = principal()
    return who is not None and who.role.allows(Role.EDITOR)


def _filters() -> dict[str, str | None]:
    def pick(name: str, allowed: set[str] | None = None) -> str | None:
        value = (request.args.get(name) or "").strip() or None
        return value if value is None or allowed is None or value in allowed else None

    return {
        "service": pick("service"),
        "kind": pick("kind", {k.value for k in ItemKind}),
        "status": pick("status", {s.value for s in ItemStatus}),
    }


def _services() -> list[str]:
    rows = db().exec(select(Item.service).where(col(Item.service).is_not(None)).distinct()).all()
    return sorted(s for s in rows if s)


def _ranked(filters: dict[str, str | None]) -> list[RankedItem]:
    rows = ranked_items(db(), plan_config(), runtime().now(), **filters)
    return rows


@bp.get("/")
def index() -> ResponseReturnValue:
    filters = _filters()
    return render_template(
        "plan/index.html",
        rows=_ranked(filters),
        filters=filters,
        services=_services(),
        kinds=[k.value for k in ItemKind],
        statuses=list(ItemStatus),
        can_edit=can_edit(),
        weights=plan_config().weights,
    )


@bp.get("/board")
def board() -> ResponseReturnValue:
    filters = {**_filters(), "status": None}
    columns: dict[str, list[RankedItem]] = {s.value: [] for s in ItemStatus}
    for entry in _ranked(filters):
        columns[entry.item.status].append(entry)
    return render_template(
        "plan/board.html",
        columns=columns,
        statuses=list(ItemStatus),
        filters=filters,
        services=_services(),
        kinds=[k.value for k in ItemKind],
    )


@bp.get("/export.<fmt>")
def export(fmt: str) -> ResponseReturnValue:
    rows = [e.as_row() for e in _ranked(_filters())]
    if fmt == "json":
        body = json.dumps({"items": rows}, indent=2)
        return Response(
            body,
            mimetype="application/json",
            headers={"Content-Disposition": "attachment; filename=opsloop-plan.json"},
        )
    if fmt != "csv":
        return Response("export format must be csv or json", status=404, mimetype="text/plain")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=ROW_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=opsloop-plan.csv"},
    )


@bp.post("/bulk-status")
@require_role(Role.EDITOR)
def bulk_status() -> ResponseReturnValue:
    ids: list[int] = []
    for raw in request.form.getlist("item"):
        if raw.isdigit():
            ids.append(int(raw))
    status = request.form.get("status", "")
    session = db()
    try:
        changed = set_status(session, ids, status, plan_config(), runtime().now())
    except ItemError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(_safe_next(request.form.get("next")) or url_for("plan.index"))
    session.commit()
    flash(f"{len(changed)} item(s) moved to {status.replace('_', ' ')}")
    return redirect(_safe_next(request.form.get("next")) or url_for("plan.index"))


def _safe_next(value: str | None) -> str | None:
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return None


from web import plan_item  # noqa: E402,F401  (registers the item views on bp)
