"""Owns the operator portal face under /operator: a bus company's people (owner, dispatcher,
viewer) sign in and run their company: profile and compliance, fleet, drivers, team; and (from
the marketplace, trips and payouts modules) requests to quote, quotes, trips and payouts.

Server-rendered like the console, phone-first, en/es/fr. Sign-in, sessions (its own cookie on
/operator), two-step sign-in, password links, CSRF on every POST and the private-page headers
are the back offices' shared machinery (backoffice/). The menu is `nav.NAV`.
"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf

from widget_server import backoffice
from widget_server.backoffice.faces import Face, public_endpoints

bp = Blueprint("operator", __name__, url_prefix="/operator")

PORTAL = Face(
    name="operator",
    operator=True,
    tenant_attr="operator",
    public_endpoints=public_endpoints("operator"),
    sign_in_title=_l("Sign in to the operator portal"),
    back_home=_l("Back to the portal"),
)
backoffice.setup(bp, PORTAL)


def init_app(app: Flask) -> None:
    """Register the portal: its pages, on the shared sign-in machinery."""
    from widget_server.operator import (  # noqa: F401 (routes register)
        company,
        nav,
        payouts,
        quoting,
        team,
        trips,
        webhooks,
    )

    backoffice.init_app(app)
    nav.init_app(app)
    app.jinja_env.globals.setdefault("csrf_token", generate_csrf)
    app.register_blueprint(bp)
