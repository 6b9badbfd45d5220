"""Who is signed in to the console, and what they may do.

Flask-Login keeps the signed-in state: the session cookie carries a random session token
(`AdminSession` stores its hash), so a session can end server-side: at sign-out, after the idle
timeout or the absolute lifetime, and for every device at once ("sign out everywhere" bumps the
admin's session generation). The cookie is HttpOnly, SameSite=Lax, limited to /admin, and
Secure whenever the request came over https.

`requires(permission)` is the one decorator that guards every console view; `owned(Model, id)`
is the one way a view loads an object: another partner's object is a 404.
"""

from __future__ import annotations

from functools import wraps

from flask import Flask, abort, current_app, g, redirect, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user

from widget_server.admin import bp
from widget_server.domain.accounts.admin_sessions import live_session
from widget_server.extensions import db
from widget_server.ratelimits import address_of

# Which roles may do what. Every role may look at everything (viewer is read only).
PERMISSIONS = {
    "view": {"owner", "editor", "developer", "viewer"},
    "self": {"owner", "editor", "developer", "viewer"},  # one's own account and sessions
    "catalog": {"owner", "editor"},  # events, trips, pledges, demand
    "branding": {"owner", "editor"},
    "developers": {"owner", "developer"},  # API clients and webhooks
    "team": {"owner"},
}
# Endpoints anyone may reach without signing in.
PUBLIC_ENDPOINTS = {
    "admin.login",
    "admin.login_code",
    "admin.logout",
    "admin.forgot_password",
    "admin.set_password",
    "admin.password_form",
    "admin.static",
}

login_manager = LoginManager()


class SignedIn:
    """The signed-in admin as Flask-Login sees it; `get_id` is the session token."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, admin, token: str, session_row=None):
        self.admin = admin
        self.token = token
        self.session_row = session_row

    def get_id(self) -> str:
        return self.token

    @property
    def partner(self):
        return self.admin.partner

    @property
    def role(self) -> str:
        return self.admin.role

    def can(self, permission: str) -> bool:
        return self.admin.role in PERMISSIONS[permission]


@login_manager.user_loader
def _load(token: str):
    found = live_session(db.session, token)
    return SignedIn(found.admin, token, found.session) if found else None


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure whenever the request came over https."""

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure

    def open_session(self, app, request):
        """Without the console's cookie (every fan's request, every API call) the session is
        empty: answered without building the cookie's signing serializer per request."""
        if app.config["SESSION_COOKIE_NAME"] not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    # Only the console uses Flask's session, so its cookie is named for it and sent only there.
    app.config.update(
        SESSION_COOKIE_NAME="ridepledge_console",
        SESSION_COOKIE_PATH="/admin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    # The console's lifetimes are enforced server-side (domain.accounts); the cookie itself
    # lasts until the browser closes.
    app.session_interface = ConsoleSessionInterface()
    login_manager.init_app(app)
    login_manager.login_view = "admin.login"
    login_manager.session_protection = "basic"
    app.jinja_env.globals.setdefault("PERMISSIONS", PERMISSIONS)


@bp.before_request
def _require_sign_in():
    """Every console page but sign-in and password links needs a live session. Loading it may
    record the session's last use, hence the transaction."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if request.method == "OPTIONS":
        return None  # Flask answers it (the allowed methods) without running any view
    with db.transaction():
        signed_in = current_user.is_authenticated
    if not signed_in:
        if request.method == "GET":
            return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
        abort(401)
    g.admin = current_user.admin
    g.partner = current_user.admin.partner
    g.locale = g.get("locale") or current_user.admin.locale
    return None


def requires(permission: str):
    """Guard a console view: signed in (see _require_sign_in) with a role that has
    `permission`; otherwise 403, decided here on the server whatever the page showed."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                abort(401)
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        guarded.permission = permission
        return guarded

    return decorator


def owned(model, object_id: str):
    """The signed-in admin's partner's object, or 404 (never a hint that it exists elsewhere)."""
    obj = db.session.get(model, object_id)
    if obj is None or obj.partner_id != g.partner.id:
        abort(404)
    return obj


def actor() -> str:
    """Who does this write, for the audit log."""
    return f"admin:{g.admin.email}"


def client_address() -> str:
    """The client's address as the sign-in lockout counts it: an IPv6 client by its /64 (one
    host or phone gets a whole /64 to pick addresses from), as the rate limits count it."""
    return address_of(request.remote_addr)[:64]


def secret_key() -> str:
    """The app's SECRET_KEY, which the domain's signed tokens and derived keys need."""
    return current_app.config["SECRET_KEY"]


@bp.errorhandler(403)
def _forbidden(_exc):
    from flask_babel import gettext as _

    page = render_template(
        "admin/message.html",
        title=_("Not allowed"),
        detail=_("Your role cannot do this. Ask an owner of your team."),
    )
    return page, 403


@bp.errorhandler(404)
def _not_found(_exc):
    from flask_babel import gettext as _

    page = render_template(
        "admin/message.html",
        title=_("Not found"),
        detail=_("There is nothing here, or it belongs to another team."),
    )
    return page, 404
