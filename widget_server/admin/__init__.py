"""Owns the partner console face under /admin: server-rendered pages over the domain functions.

Wiring only: the blueprint, with what every back office shares (backoffice: sign-in, its own
session cookie, CSRF on every POST, private-page headers); pages live in one module per area.
"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf

from widget_server import backoffice
from widget_server.backoffice.faces import Face, public_endpoints

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    static_folder="../static/admin",
    static_url_path="/static",
)

CONSOLE = Face(
    name="admin",
    operator=False,
    tenant_attr="partner",
    public_endpoints=public_endpoints("admin"),
    sign_in_title=_l("Sign in to the console"),
    back_home=_l("Back to the console"),
)
backoffice.setup(bp, CONSOLE)


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
        team,
        trips,
        two_step,
        webhooks,
    )

    backoffice.init_app(app)
    auth.init_app(app)
    helpers.init_app(app)
    app.jinja_env.globals.setdefault("csrf_token", generate_csrf)
    app.register_blueprint(bp)
