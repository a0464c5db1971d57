"""The public roadmap: items a person marked public, with their status and votes."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlmodel import col, select

from plan.models import Item, ItemStatus
from web.security import public
from web.state import db

bp = Blueprint("roadmap", __name__)

# What a visitor sees: the internal statuses folded into three plain columns.
COLUMNS = (
    ("Under consideration", {ItemStatus.NEW, ItemStatus.TRIAGED}),
    ("Planned", {ItemStatus.PLANNED, ItemStatus.IN_PROGRESS, ItemStatus.REGRESSED}),
    ("Shipped", {ItemStatus.RELEASED, ItemStatus.VERIFIED}),
)


@bp.get("/roadmap")
@public
def index() -> ResponseReturnValue:
    items = (
        db()
        .exec(
            select(Item).where(
                col(Item.public).is_(True),
                col(Item.merged_into_id).is_(None),
                Item.status != ItemStatus.DECLINED.value,
            )
        )
        .all()
    )
    columns = [
        (
            label,
            sorted(
                (i for i in items if ItemStatus(i.status) in statuses),
                key=lambda i: (-i.votes, i.id or 0),
            ),
        )
        for label, statuses in COLUMNS
    ]
    return render_template("roadmap/index.html", columns=columns if items else [])
