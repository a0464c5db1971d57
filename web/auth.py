"""Login and logout pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from core.accounts import authenticate
from core.errors import AuthError
from web.extensions import limiter
from web.security import LoginUser, public
from web.state import db, runtime

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    name = StringField(
        "User name", validators=[DataRequired("Enter your user name."), Length(max=80)]
    )
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit("20 per minute", methods=["POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if form.validate_on_submit():
        session = db()
        try:
            user = authenticate(
                session, form.name.data or "", form.password.data or "", runtime().now()
            )
        except AuthError as exc:
            form.password.errors = [str(exc)]
        else:
            session.commit()
            login_user(LoginUser(user))
            return redirect(_safe_next(request.args.get("next")))
    status = 400 if form.errors else 200
    return render_template("login.html", form=form), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    logout_user()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: an open redirect after login is a phishing aid."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("overview.index")
