"""Signing in (the password, then the code for people with two-step sign-in) and out, and the
password links (set from the CLI or an invite, reset by email), on each back office.

`register(bp, face)` adds the views to a face's blueprint: `<face>.login`, `.login_code`,
`.logout`, `.forgot_password`, `.set_password`, `.password_form`. The console and the portal
answer the same way; each signs in only its own side's people (the other side's account is
refused like a wrong password, domain.accounts.admin_sessions.authenticate).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from widget_server.backoffice.faces import Face
from widget_server.backoffice.forms import (
    CodeForm,
    ForgotPasswordForm,
    NewPasswordForm,
    SignInForm,
)
from widget_server.backoffice.pages import message_page
from widget_server.backoffice.sessions import SignedIn, client_address, secret_key
from widget_server.domain.accounts import admin_sessions, admins, password_links, two_step
from widget_server.domain.errors import ValidationFailed
from widget_server.extensions import db, limiter
from widget_server.ratelimits import sign_in_limits

PURPOSES = tuple(password_links.LINK_LIFETIMES)
# The session key holding the signed pending state between the password and the code.
PENDING = "two_step_pending"
# The session key holding [purpose, token] of the password link this browser opened.
OPENED_LINK = "opened_link"


def register(bp: Blueprint, face: Face) -> None:
    """The sign-in views of `face` on `bp`."""

    def route(rule: str, methods=("GET",), limits=None):
        """`bp.route`, with the view named for this face (so the rate limiter, which keys
        decorated views by name, keeps each face's views apart) and `limits` applied."""

        def decorator(view):
            view.__qualname__ = f"{face.name}.{view.__name__}"
            if limits is not None:
                view = limits(view)
            return bp.route(rule, methods=list(methods))(view)

        return decorator

    def home() -> str:
        return url_for(face.endpoint("home"))

    def safe_next(target: str | None) -> str:
        """Only a path of this face on this site: never an open redirect."""
        if target and target.startswith(face.prefix) and not target.startswith("//"):
            return target
        return home()

    def signed_in(admin, token: str, target: str):
        session.clear()  # nothing from before sign-in survives it (CSRF token included)
        login_user(SignedIn(admin, token))
        return redirect(target)

    def new_session(dbs, admin) -> str:
        return admin_sessions.start_session(
            dbs, admin, address=client_address(), user_agent=request.user_agent.string
        )

    @route("/login", ("GET", "POST"), sign_in_limits)
    def login():
        """Email and password; the same refusal for an unknown email, a wrong password, the
        other face's account and a lockout. A fresh session (and session id) at every
        sign-in; with two-step sign-in on, no session yet: the code comes first."""
        signed_in_here = current_user.is_authenticated and face.opens(current_user.admin)
        if request.method == "GET" and signed_in_here:
            return redirect(home())
        form = SignInForm()
        if not form.validate_on_submit():
            status = 422 if request.method == "POST" else 200
            return render_template("backoffice/login.html", form=form), status
        with db.transaction() as dbs:
            try:
                admin = admin_sessions.authenticate(
                    dbs,
                    form.email.data,
                    form.password.data,
                    address=client_address(),
                    operator=face.operator,
                )
            except admin_sessions.SignInRefused:
                admin = None
            token = new_session(dbs, admin) if admin and not admin.two_step_on else None
        if admin is None:
            form.password.data = ""
            return render_template("backoffice/login.html", form=form, refused=True), 401
        target = safe_next(request.args.get("next"))
        if token is None:  # the password was right; the code is still to come
            session.clear()
            session[PENDING] = two_step.pending_token(secret_key(), admin, target)
            return redirect(url_for(face.endpoint("login_code")))
        return signed_in(admin, token, target)

    @bp.before_request
    def _pending_sign_in():
        """Who the second step of a sign-in is for (read before the rate limits count it)."""
        if request.endpoint == face.endpoint("login_code"):
            found = two_step.pending_admin(db.session, secret_key(), session.get(PENDING))
            if found is not None and not face.opens(found[0]):
                found = None
            g.pending_sign_in = found
            if found is not None:
                g.sign_in_email = found[0].email

    @route("/login/code", ("GET", "POST"), sign_in_limits)
    def login_code():
        """The second step: a code from the authenticator app or a recovery code, within five
        minutes of the password. The same refusal for a wrong, replayed or locked code."""
        found = g.get("pending_sign_in")
        if found is None:
            session.pop(PENDING, None)
            flash(_("Sign in again: the code must follow the password within 5 minutes."))
            return redirect(url_for(face.endpoint("login")))
        admin, target = found
        form = CodeForm()
        if not form.validate_on_submit():
            status = 422 if request.method == "POST" else 200
            return render_template("backoffice/login_code.html", form=form), status
        with db.transaction() as dbs:
            try:
                kind = two_step.second_step(
                    dbs, admin, form.code.data, secret_key=secret_key(), address=client_address()
                )
            except admin_sessions.SignInRefused:
                kind = None
            token = new_session(dbs, admin) if kind is not None else None
            left = two_step.recovery_codes_left(dbs, admin) if kind == "recovery" else None
        if token is None:
            form.code.data = ""
            return render_template("backoffice/login_code.html", form=form, refused=True), 401
        response = signed_in(admin, token, target)
        if left is not None:
            flash(
                _(
                    "You signed in with a recovery code; %(count)s are left. "
                    "Make new ones on the two-step sign-in page.",
                    count=left,
                )
            )
        return response

    @route("/logout", ("POST",))
    def logout():
        """Sign out this browser (its session ends on the server too)."""
        if current_user.is_authenticated:
            with db.transaction() as dbs:
                admin_sessions.end_session(dbs, current_user.token)
        logout_user()
        session.clear()
        flash(_("You are signed out."))
        return redirect(url_for(face.endpoint("login")))

    @route("/password/forgot", ("GET", "POST"), limiter.limit("10 per hour", methods=["POST"]))
    def forgot_password():
        """Ask for a reset link. The same answer whether or not the email has an account."""
        form = ForgotPasswordForm()
        if form.validate_on_submit():
            with db.transaction() as dbs:
                password_links.ask_password_reset(dbs, form.email.data)
            return render_template("backoffice/forgot_sent.html")
        status = 422 if request.method == "POST" else 200
        return render_template("backoffice/forgot.html", form=form), status

    password_limit = limiter.limit("30 per hour", methods=["POST"])

    @route("/password/<purpose>/<token>", ("GET", "POST"), password_limit)
    def set_password(purpose: str, token: str):
        """The emailed link: checked, kept in this browser's session and swapped (303) for the
        token-less form address, so the token is not in the address bar, the history or a
        referrer, and the form page can keep a same-origin referrer (the CSRF check needs one
        over https). A POST here still sets the password (forms opened before this change)."""
        admin = link_admin(purpose, token)
        if admin is None:
            return dead_link()
        if request.method == "GET":
            session[OPENED_LINK] = [purpose, token]
            return redirect(url_for(face.endpoint("password_form"), purpose=purpose), 303)
        return password_page(admin, purpose)

    @route("/password/<purpose>", ("GET", "POST"), password_limit)
    def password_form(purpose: str):
        """Set a password from the link this browser opened; the link works once and ends
        every session."""
        kept = session.get(OPENED_LINK)
        valid = isinstance(kept, list) and len(kept) == 2 and kept[0] == purpose
        admin = link_admin(purpose, str(kept[1])) if valid else None
        if admin is None:
            return dead_link()
        return password_page(admin, purpose)

    def link_admin(purpose: str, token: str):
        if purpose not in PURPOSES:
            return None
        secret = current_app.config["SECRET_KEY"]
        admin = password_links.admin_for_token(db.session, secret, token, purpose)
        return admin if admin is not None and face.opens(admin) else None

    def dead_link():
        return message_page(
            _("This link does not work"),
            _("It has expired or was used already. Ask for a new one from the sign-in page."),
            404,
            link=(url_for(face.endpoint("forgot_password")), _("Reset my password")),
        )

    def password_page(admin, purpose: str):
        form = NewPasswordForm()
        if form.validate_on_submit():
            try:
                with db.transaction() as dbs:
                    actor = admins.actor_of(admin)
                    admins.set_password(dbs, admin, form.password.data, actor=actor)
            except ValidationFailed as exc:
                form.password.errors = [*form.password.errors, exc.errors["password"][0]]
            else:
                logout_user()
                session.clear()
                flash(_("Your password is set. Sign in with it now."))
                return redirect(url_for(face.endpoint("login")))
        status = 422 if request.method == "POST" else 200
        return render_template(
            "backoffice/set_password.html", form=form, admin=admin, purpose=purpose
        ), status
