"""Theme pages: themes with counts and trend, one theme's members, merge decisions, renaming."""

from __future__ import annotations

import json
from datetime import date

import plotly.graph_objects as go
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core.models import Role
from feedback.analysis_models import MergeStatus, Theme
from feedback.errors import ThemeError
from feedback.theme_stats import (
    daily_counts,
    member_count,
    merges_by_status,
    theme_members,
    theme_summaries,
)
from feedback.theme_store import (
    confirm_merge,
    dismiss_merge,
    member_theme_ids,
    rename_theme,
    undo_merge,
)
from web.security import principal, require_role
from web.state import db, runtime

bp = Blueprint("themes", __name__, url_prefix="/feedback/themes")

TREND_DAYS = 30
MERGE_ACTIONS = {"confirm": confirm_merge, "undo": undo_merge, "dismiss": dismiss_merge}


@bp.get("/")
def index() -> ResponseReturnValue:
    session = db()
    min_count = 2 if request.args.get("all") != "1" else 1
    summaries = theme_summaries(session, runtime().now(), min_count=min_count)
    merges = merges_by_status(session)
    return render_template(
        "themes/index.html",
        summaries=summaries,
        suggested=merges.get(MergeStatus.SUGGESTED.value, []),
        confirmed=merges.get(MergeStatus.CONFIRMED.value, []),
        show_all=min_count == 1,
    )


@bp.get("/<int:theme_id>")
def detail(theme_id: int) -> ResponseReturnValue:
    session = db()
    theme = session.get(Theme, theme_id)
    if theme is None:
        abort(404, description=f"theme {theme_id} does not exist")
    if theme.merged_into_id is not None:
        flash(f"This theme was merged into theme {theme.merged_into_id}.", "info")
    now = runtime().now()
    days = daily_counts(session, theme_id, now, TREND_DAYS)
    members = theme_members(session, theme_id)
    merged_ids = [t for t in member_theme_ids(session, theme_id) if t != theme_id]
    return render_template(
        "themes/detail.html",
        theme=theme,
        top_terms=json.loads(theme.top_terms or "[]"),
        members=members,
        count=member_count(session, theme_id),
        total=sum(n for _, n in days),
        merged=[session.get(Theme, t) for t in merged_ids],
        trend_json=_trend_figure(days),
    )


def _trend_figure(days: list[tuple[date, int]]) -> str:
    fig = go.Figure(
        go.Bar(x=[str(d) for d, _ in days], y=[n for _, n in days], marker_color="#2f6fed")
    )
    fig.update_layout(
        margin={"l": 40, "r": 10, "t": 10, "b": 40},
        height=260,
        yaxis={"title": "posts per day", "rangemode": "tozero"},
    )
    return str(fig.to_json())


@bp.post("/<int:theme_id>/label")
@require_role(Role.EDITOR)
def rename(theme_id: int) -> ResponseReturnValue:
    session = db()
    try:
        rename_theme(session, theme_id, request.form.get("label", ""), runtime().now())
    except ThemeError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("themes.detail", theme_id=theme_id)), 303
    session.commit()
    flash("Theme renamed.", "ok")
    return redirect(url_for("themes.detail", theme_id=theme_id)), 303


@bp.post("/merges/<int:merge_id>/<action>")
@require_role(Role.EDITOR)
def decide_merge(merge_id: int, action: str) -> ResponseReturnValue:
    decide = MERGE_ACTIONS.get(action)
    if decide is None:
        abort(404, description=f"unknown merge action {action!r}")
    session = db()
    who = principal()
    try:
        decide(session, merge_id, who.name if who else "?", runtime().now())
    except ThemeError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("themes.index")), 303
    session.commit()
    past = {"confirm": "confirmed", "undo": "undone", "dismiss": "dismissed"}[action]
    flash(f"Merge {merge_id} {past}.", "ok")
    return redirect(url_for("themes.index")), 303
