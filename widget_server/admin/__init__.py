"""Owns the partner console face under /admin: server-rendered pages over the domain functions.

Wiring only: the blueprint, the sign-in machinery (auth.py), the CSRF check on every POST and
the headers every console page carries. Pages live in one module per area.
"""

from __future__ import annotations

from flask import Blueprint, Flask, render_template, request
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from wtforms.validators import ValidationError

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    static_folder="../static/admin",
    static_url_path="/static",
)

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@bp.before_request
def _check_csrf():
    """Every state-changing request carries the form's CSRF token (or X-CSRFToken)."""
    if request.method not in UNSAFE_METHODS:
        return None
    token = request.form.get("csrf_token") or request.headers.get("X-CSRFToken")
    try:
        validate_csrf(token)
    except ValidationError as exc:
        raise CSRFError(str(exc)) from None
    return None


@bp.errorhandler(CSRFError)
def _csrf_refused(exc: CSRFError):
    from flask_babel import gettext as _

    page = render_template(
        "admin/message.html",
        title=_("This form has expired"),
        detail=_("Reload the page and try again. (The security token was missing or too old.)"),
    )
    return page, 400


@bp.after_request
def _console_headers(response):
    """Console pages are private and never framed; the preview frames only our own widget."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: https:; style-src 'self'; "
        "script-src 'self'; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'; object-src 'none'",
    )
    return response


def init_app(app: Flask) -> None:
    """Register the console: sign-in, cookie rules, pages."""
    from widget_server.admin import (  # noqa: F401 (routes register)
        account,
        auth,
        branding,
        buses,
        demand,
        developers,
        driver_links,
        events,
        fans,
        helpers,
        home,
        messages,
        sign_in,
        team,
        trips,
        two_step,
        webhooks,
    )

    auth.init_app(app)
    helpers.init_app(app)
    messages.init_app(app)
    app.jinja_env.globals.setdefault("csrf_token", generate_csrf)
    app.register_blueprint(bp)
