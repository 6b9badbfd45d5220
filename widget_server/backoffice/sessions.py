"""Who is signed in to a back office, and what they may do.

Flask-Login keeps the signed-in state: the session cookie carries a random session token
(`AdminSession` stores its hash), so a session can end server-side: at sign-out, after the idle
timeout or the absolute lifetime, and for every device at once ("sign out everywhere" bumps the
person's session generation). Each face has its own cookie, HttpOnly, SameSite=Lax, limited to
its path (`ridepledge_console` on /admin, `ridepledge_operator` on /operator), and Secure
whenever the request came over https; a session opens only its own face (`Face.opens`).

`role_guard(permissions)` makes the one decorator that guards every view of a face;
`owned(Model, id, face)` is the one way a view loads an object: another tenant's is a 404.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, Flask, abort, current_app, g, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user

from widget_server.backoffice.faces import Face
from widget_server.domain.accounts.admin_sessions import live_session
from widget_server.extensions import db
from widget_server.ratelimits import address_of

login_manager = LoginManager()

# (path prefix, cookie name) of each face's session cookie.
COOKIES = (("/operator", "ridepledge_operator"), ("/admin", "ridepledge_console"))


class SignedIn:
    """The signed-in person as Flask-Login sees it; `get_id` is the session token."""

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


@login_manager.user_loader
def _load(token: str):
    found = live_session(db.session, token)
    return SignedIn(found.admin, token, found.session) if found else None


def _cookie_for_path() -> tuple[str, str]:
    for prefix, name in COOKIES:
        if request.path == prefix or request.path.startswith(prefix + "/"):
            return prefix, name
    return COOKIES[-1]


class BackOfficeSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, one cookie per face (its name and path follow the
    request's face), marked Secure whenever the request came over https."""

    def get_cookie_name(self, app) -> str:
        return _cookie_for_path()[1]

    def get_cookie_path(self, app) -> str:
        return _cookie_for_path()[0]

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def init_app(app: Flask) -> None:
    """Once per app: only the back offices use Flask's session (a cookie per face)."""
    if "ridepledge.backoffice" in app.extensions:
        return
    app.extensions["ridepledge.backoffice"] = True
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    # The lifetimes are enforced server-side (domain.accounts); the cookie itself lasts until
    # the browser closes.
    app.session_interface = BackOfficeSessionInterface()
    login_manager.init_app(app)
    login_manager.session_protection = "basic"


def require_sign_in(bp: Blueprint, face: Face) -> None:
    """Every page of `bp` but sign-in and password links needs a live session of a person of
    this face's side. Loading it may record the session's last use, hence the transaction."""

    @bp.before_request
    def _require_sign_in():
        if request.endpoint in face.public_endpoints:
            return None
        if request.method == "OPTIONS":
            return None  # Flask answers it (the allowed methods) without running any view
        with db.transaction():
            signed_in = current_user.is_authenticated and face.opens(current_user.admin)
        if not signed_in:
            if request.method == "GET":
                login = url_for(face.endpoint("login"), next=request.full_path.rstrip("?"))
                return redirect(login)
            abort(401)
        g.admin = current_user.admin
        setattr(g, face.tenant_attr, current_user.admin.tenant)
        g.locale = g.get("locale") or current_user.admin.locale
        return None


def role_guard(permissions: dict[str, set[str]]):
    """The `requires(permission)` decorator of a face whose roles may do `permissions`:
    signed in (see require_sign_in) with a role that has `permission`, otherwise 403, decided
    here on the server whatever the page showed."""

    def requires(permission: str):
        if permission not in permissions:
            raise ValueError(f"unknown permission {permission!r}")

        def decorator(view):
            @wraps(view)
            def guarded(*args, **kwargs):
                if not current_user.is_authenticated:
                    abort(401)
                if current_user.admin.role not in permissions[permission]:
                    abort(403)
                return view(*args, **kwargs)

            guarded.permission = permission
            return guarded

        return decorator

    return requires


def owned(model, object_id: str, face: Face):
    """The signed-in person's tenant's object, or 404 (never a hint that it exists
    elsewhere)."""
    obj = db.session.get(model, object_id)
    tenant = getattr(g, face.tenant_attr)
    if obj is None or getattr(obj, f"{face.tenant_attr}_id") != tenant.id:
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
