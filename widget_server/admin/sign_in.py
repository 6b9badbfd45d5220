"""Signing in and out, and the password links (set from the CLI or an invite, reset by email)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from widget_server.admin import bp
from widget_server.admin.auth import SignedIn
from widget_server.admin.forms import ForgotPasswordForm, NewPasswordForm, SignInForm
from widget_server.domain import admins
from widget_server.domain.errors import ValidationFailed
from widget_server.extensions import db, limiter

PURPOSES = tuple(admins.LINK_LIFETIMES)


def _address() -> str:
    return (request.remote_addr or "unknown")[:64]


def _safe_next(target: str | None) -> str:
    """Only a console path of this site: never an open redirect."""
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def login():
    """Email and password; the same refusal for an unknown email, a wrong password and a
    lockout. A fresh session (and session id) at every sign-in."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("admin.home"))
    form = SignInForm()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("admin/login.html", form=form), status
    with db.transaction() as dbs:
        try:
            admin = admins.authenticate(
                dbs, form.email.data, form.password.data, address=_address()
            )
        except admins.SignInRefused:
            admin = None
        token = None
        if admin is not None:
            token = admins.start_session(
                dbs, admin, address=_address(), user_agent=request.user_agent.string
            )
    if admin is None:
        form.password.data = ""
        return render_template("admin/login.html", form=form, refused=True), 401
    target = _safe_next(request.args.get("next"))
    session.clear()  # nothing from before sign-in survives it (CSRF token included)
    login_user(SignedIn(admin, token))
    return redirect(target)


@bp.post("/logout")
def logout():
    """Sign out this browser (its session ends on the server too)."""
    if current_user.is_authenticated:
        with db.transaction() as dbs:
            admins.end_session(dbs, current_user.token)
    logout_user()
    session.clear()
    flash(_("You are signed out."))
    return redirect(url_for("admin.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def forgot_password():
    """Ask for a reset link. The answer is the same whether or not the email has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        with db.transaction() as dbs:
            admins.request_password_reset(dbs, form.email.data)
        return render_template("admin/forgot_sent.html")
    status = 422 if request.method == "POST" else 200
    return render_template("admin/forgot.html", form=form), status


@bp.route("/password/<purpose>/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def set_password(purpose: str, token: str):
    """Set a password from a signed link; the link works once and ends every session."""
    secret = current_app.config["SECRET_KEY"]
    admin = (
        admins.admin_for_token(db.session, secret, token, purpose) if purpose in PURPOSES else None
    )
    if admin is None:
        page = render_template(
            "admin/message.html",
            title=_("This link does not work"),
            detail=_(
                "It has expired or was used already. Ask for a new one from the sign-in page."
            ),
            link=(url_for("admin.forgot_password"), _("Reset my password")),
        )
        return page, 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            with db.transaction() as dbs:
                admins.set_password(dbs, admin, form.password.data, actor=admins.actor_of(admin))
        except ValidationFailed as exc:
            form.password.errors = [*form.password.errors, exc.errors["password"][0]]
        else:
            logout_user()
            session.clear()
            flash(_("Your password is set. Sign in with it now."))
            return redirect(url_for("admin.login"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/set_password.html", form=form, admin=admin, purpose=purpose
    ), status
