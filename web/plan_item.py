"""The plan item page and its forms (create, edit, merge, split, export), and the deploy list.

Views register on the `plan` blueprint of web/plan.py.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.routing import BuildError

from core.models import Role
from plan.deploys import deploys_for_items, list_deploys
from plan.errors import ItemError, ItemNotFound
from plan.evidence import people_counts
from plan.export import export_item, export_links
from plan.items import (
    create_item,
    edit_item,
    get_item,
    item_evidence,
    merge_items,
    score_one,
    split_item,
)
from plan.models import Evidence, EvidenceKind, ItemKind, ItemStatus
from web.plan import bp, can_edit, exporters, plan_config
from web.security import require_role
from web.state import db, runtime


def _first_url(*candidates: tuple[str, dict[str, Any]]) -> str | None:
    """The first of several pages that exists (other areas name their pages as they like)."""
    for endpoint, values in candidates:
        try:
            return url_for(endpoint, **values)
        except BuildError:
            continue
    return None


def evidence_link(ev: Evidence, service: str | None) -> str | None:
    if ev.kind == EvidenceKind.ALERT.value and ev.ref_id.isdigit():
        return _first_url(("alerts.detail", {"alert_id": int(ev.ref_id)}))
    if ev.kind in {EvidenceKind.FEEDBACK.value, EvidenceKind.SURVEY.value}:
        fid = int(ev.ref_id) if ev.ref_id.isdigit() else 0
        key = ev.ref_key or ""
        theme = int(key) if key.isdigit() else None
        return _first_url(
            ("feedback.detail", {"feedback_id": fid}),
            ("themes.detail", {"theme_id": theme}),
            ("feedback.index", {"theme": theme}),
        )
    if ev.kind == EvidenceKind.SLO_BURN.value and service:
        return _first_url(
            ("services.detail", {"name": service}),
            ("services.service", {"name": service}),
            ("services.index", {}),
        )
    if ev.kind == EvidenceKind.DEPLOY.value:
        return url_for("plan.deploys", _anchor=f"deploy-{ev.ref_id}")
    return None


def theme_links(evidence: list[Evidence]) -> list[tuple[str, str | None]]:
    """The feedback themes behind an item, each with its page."""
    kinds = {EvidenceKind.FEEDBACK.value, EvidenceKind.SURVEY.value}
    keys = sorted({e.ref_key or "" for e in evidence if e.kind in kinds})
    return [
        (
            key,
            _first_url(
                ("themes.detail", {"theme_id": int(key)}), ("feedback.index", {"theme": key})
            ),
        )
        for key in keys
        if key.isdigit()
    ]


def _item_or_404(item_id: int) -> Any:
    try:
        return get_item(db(), item_id)
    except ItemNotFound:
        abort(404, description=f"item {item_id} does not exist")


def _timeline(item: Any, evidence: list[Evidence], deploys: list[Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [{"at": item.created_at, "what": "created", "badge": "info"}]
    for ev in evidence:
        if ev.kind != EvidenceKind.DEPLOY.value:
            events.append(
                {"at": ev.observed_at, "what": f"{ev.kind}: {ev.summary[:120]}", "badge": ev.kind}
            )
    for d in deploys:
        note = f" — {d.regression_note}" if d.regression_flag else ""
        events.append(
            {
                "at": d.at,
                "what": f"deploy {d.service} {d.version}{note}",
                "badge": "bad" if d.regression_flag else "released",
            }
        )
    if item.verify_after:
        events.append({"at": item.verify_after, "what": "verification due", "badge": "pending"})
    return sorted(events, key=lambda e: e["at"], reverse=True)


@bp.get("/items/<int:item_id>")
def item(item_id: int) -> ResponseReturnValue:
    session = db()
    found = _item_or_404(item_id)
    evidence = item_evidence(session, item_id)
    deploys = deploys_for_items(session, [item_id])[item_id]
    score = score_one(session, found, plan_config(), runtime().now())
    return render_template(
        "plan/item.html",
        item=found,
        score=score,
        evidence=[(ev, evidence_link(ev, found.service)) for ev in evidence],
        counts=people_counts(evidence),
        themes=theme_links(evidence),
        timeline=_timeline(found, evidence, deploys),
        links=export_links(session, item_id),
        targets=[t.value for t in exporters()],
        verdict=found.verdict_data,
        kinds=[k.value for k in ItemKind],
        statuses=list(ItemStatus),
        can_edit=can_edit(),
    )


def _form_fields() -> dict[str, Any]:
    form = request.form
    return {
        "title": form.get("title", ""),
        "description": form.get("description", ""),
        "kind": form.get("kind", ""),
        "service": form.get("service", ""),
        "effort": form.get("effort", ""),
        "public": form.get("public") == "on",
    }


@bp.route("/items/new", methods=["GET", "POST"])
@require_role(Role.EDITOR)
def new_item() -> ResponseReturnValue:
    error = None
    values: dict[str, Any] = {"kind": "task"}
    if request.method == "POST":
        values = _form_fields()
        session = db()
        try:
            created = create_item(session, now=runtime().now(), **values)
        except ItemError as exc:
            session.rollback()
            error = str(exc)
        else:
            session.commit()
            flash(f"item {created.id} created")
            return redirect(url_for("plan.item", item_id=created.id))
    return render_template(
        "plan/new.html", values=values, error=error, kinds=[k.value for k in ItemKind]
    ), (400 if error else 200)


def _change(item_id: int, action: Any, done: str) -> ResponseReturnValue:
    """Run one change in a transaction; a refusal is flashed and nothing is kept."""
    session = db()
    try:
        result = action(session)
    except ItemError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("plan.item", item_id=item_id))
    session.commit()
    flash(done)
    target = getattr(result, "id", None) or item_id
    return redirect(url_for("plan.item", item_id=target))


@bp.post("/items/<int:item_id>/edit")
@require_role(Role.EDITOR)
def edit(item_id: int) -> ResponseReturnValue:
    changes = _form_fields()
    if request.form.get("status"):
        changes["status"] = request.form["status"]
    now = runtime().now()
    return _change(item_id, lambda s: edit_item(s, item_id, changes, plan_config(), now), "saved")


def _ids(raw: str) -> list[int]:
    parts = [p.strip().lstrip("#") for p in raw.replace(",", " ").split()]
    bad = [p for p in parts if not p.isdigit()]
    if bad:
        raise ItemError(f"not item ids: {', '.join(bad[:5])}")
    return [int(p) for p in parts]


@bp.post("/items/<int:item_id>/merge")
@require_role(Role.EDITOR)
def merge(item_id: int) -> ResponseReturnValue:
    now = runtime().now()
    return _change(
        item_id,
        lambda s: merge_items(s, item_id, _ids(request.form.get("sources", "")), now),
        "merged",
    )


@bp.post("/items/<int:item_id>/split")
@require_role(Role.EDITOR)
def split(item_id: int) -> ResponseReturnValue:
    now = runtime().now()
    chosen = [int(v) for v in request.form.getlist("evidence") if v.isdigit()]
    return _change(
        item_id,
        lambda s: split_item(s, item_id, chosen, request.form.get("title", ""), now),
        "split into a new item",
    )


@bp.post("/items/<int:item_id>/export/<target>")
@require_role(Role.EDITOR)
def export_to(item_id: int, target: str) -> ResponseReturnValue:
    # Loading the logged-in user opened the request's write transaction; end it, so the
    # export's HTTP call runs with no lock held (export_item opens short ones of its own).
    db().commit()
    rt = runtime()
    try:
        outcome = export_item(
            rt.engine, item_id, target, exporters(), rt.settings.public_url, rt.now()
        )
    except ItemNotFound:
        abort(404, description=f"item {item_id} does not exist")
    except ItemError as exc:
        flash(str(exc), "error")
        return redirect(url_for("plan.item", item_id=item_id))
    if outcome.error is not None:
        flash(f"export failed: {outcome.error}", "error")
    else:
        verb = "created" if outcome.created else "updated"
        flash(f"{target}: {verb} {outcome.link.external_url or outcome.link.external_id}")
    return redirect(url_for("plan.item", item_id=item_id))


@bp.get("/deploys")
def deploys() -> ResponseReturnValue:
    service = (request.args.get("service") or "").strip() or None
    return render_template(
        "plan/deploys.html", deploys=list_deploys(db(), service=service, limit=200), service=service
    )
