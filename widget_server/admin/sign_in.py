"""Signing in (the password, then the code for admins with two-step sign-in) and out, and the
password links (set from the CLI or an invite, reset by email)."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from widget_server.admin import bp
from widget_server.admin.auth import SignedIn, client_address, secret_key
from widget_server.admin.forms import CodeForm, ForgotPasswordForm, NewPasswordForm, SignInForm
from widget_server.domain.accounts import admin_sessions, admins, password_links, two_step
from widget_server.domain.errors import ValidationFailed
from widget_server.extensions import db, limiter
from widget_server.ratelimits import sign_in_limits

PURPOSES = tuple(password_links.LINK_LIFETIMES)
# The session key holding the signed pending state between the password and the code.
PENDING = "two_step_pending"


def _safe_next(target: str | None) -> str:
    """Only a console path of this site: never an open redirect."""
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.home")


def _signed_in(admin, token: str, target: str):
    session.clear()  # nothing from before sign-in survives it (CSRF token included)
    login_user(SignedIn(admin, token))
    return redirect(target)


def _new_session(dbs, admin) -> str:
    return admin_sessions.start_session(
        dbs, admin, address=client_address(), user_agent=request.user_agent.string
    )


@bp.route("/login", methods=["GET", "POST"])
@sign_in_limits
def login():
    """Email and password; the same refusal for an unknown email, a wrong password and a
    lockout. A fresh session (and session id) at every sign-in; with two-step sign-in on, no
    session yet: the code comes first (login_code)."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("admin.home"))
    form = SignInForm()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("admin/login.html", form=form), status
    with db.transaction() as dbs:
        try:
            admin = admin_sessions.authenticate(
                dbs, form.email.data, form.password.data, address=client_address()
            )
        except admin_sessions.SignInRefused:
            admin = None
        token = _new_session(dbs, admin) if admin is not None and not admin.two_step_on else None
    if admin is None:
        form.password.data = ""
        return render_template("admin/login.html", form=form, refused=True), 401
    target = _safe_next(request.args.get("next"))
    if token is None:  # the password was right; the code is still to come
        session.clear()
        session[PENDING] = two_step.pending_token(secret_key(), admin, target)
        return redirect(url_for("admin.login_code"))
    return _signed_in(admin, token, target)


@bp.before_request
def _pending_sign_in():
    """Who the second step of a sign-in is for (read before the rate limits count it)."""
    if request.endpoint == "admin.login_code":
        found = two_step.pending_admin(db.session, secret_key(), session.get(PENDING))
        g.pending_sign_in = found
        if found is not None:
            g.sign_in_email = found[0].email


@bp.route("/login/code", methods=["GET", "POST"])
@sign_in_limits
def login_code():
    """The second step: a code from the authenticator app or a recovery code, within five
    minutes of the password. The same refusal for a wrong, replayed or locked code."""
    found = g.get("pending_sign_in")
    if found is None:
        session.pop(PENDING, None)
        flash(_("Sign in again: the code must follow the password within 5 minutes."))
        return redirect(url_for("admin.login"))
    admin, target = found
    form = CodeForm()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("admin/login_code.html", form=form), status
    with db.transaction() as dbs:
        try:
            kind = two_step.second_step(
                dbs, admin, form.code.data, secret_key=secret_key(), address=client_address()
            )
        except admin_sessions.SignInRefused:
            kind = None
        token = _new_session(dbs, admin) if kind is not None else None
        left = two_step.recovery_codes_left(dbs, admin) if kind == "recovery" else None
    if token is None:
        form.code.data = ""
        return render_template("admin/login_code.html", form=form, refused=True), 401
    response = _signed_in(admin, token, target)
    if left is not None:
        flash(
            _(
                "You signed in with a recovery code; %(count)s are left. "
                "Make new ones on the two-step sign-in page.",
                count=left,
            )
        )
    return response


@bp.post("/logout")
def logout():
    """Sign out this browser (its session ends on the server too)."""
    if current_user.is_authenticated:
        with db.transaction() as dbs:
            admin_sessions.end_session(dbs, current_user.token)
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
            password_links.ask_password_reset(dbs, form.email.data)
        return render_template("admin/forgot_sent.html")
    status = 422 if request.method == "POST" else 200
    return render_template("admin/forgot.html", form=form), status


# The session key holding [purpose, token] of the password link this browser opened.
OPENED_LINK = "opened_link"


@bp.route("/password/<purpose>/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def set_password(purpose: str, token: str):
    """The emailed link: checked, kept in this browser's session and swapped (303) for the
    token-less form address, so the token is not in the address bar, the history or a
    referrer, and the form page can keep a same-origin referrer (the CSRF check needs one over
    https). A POST here still sets the password (forms opened before this change)."""
    admin = _link_admin(purpose, token)
    if admin is None:
        return _dead_link()
    if request.method == "GET":
        session[OPENED_LINK] = [purpose, token]
        return redirect(url_for("admin.password_form", purpose=purpose), 303)
    return _password_page(admin, purpose)


@bp.route("/password/<purpose>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def password_form(purpose: str):
    """Set a password from the link this browser opened; the link works once and ends every
    session."""
    kept = session.get(OPENED_LINK)
    valid = isinstance(kept, list) and len(kept) == 2 and kept[0] == purpose
    admin = _link_admin(purpose, str(kept[1])) if valid else None
    if admin is None:
        return _dead_link()
    return _password_page(admin, purpose)


def _link_admin(purpose: str, token: str):
    secret = current_app.config["SECRET_KEY"]
    if purpose not in PURPOSES:
        return None
    return password_links.admin_for_token(db.session, secret, token, purpose)


def _dead_link():
    page = render_template(
        "admin/message.html",
        title=_("This link does not work"),
        detail=_("It has expired or was used already. Ask for a new one from the sign-in page."),
        link=(url_for("admin.forgot_password"), _("Reset my password")),
    )
    return page, 404


def _password_page(admin, purpose: str):
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
