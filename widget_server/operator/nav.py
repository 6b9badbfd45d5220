"""The portal's menu: ONE list. A page joins the menu with one line here."""

from __future__ import annotations

from flask import Flask, g
from flask_babel import lazy_gettext as _l

from widget_server.operator.auth import PERMISSIONS

# (endpoint, label, permission to see it), in menu order.
NAV = [
    ("operator.home", _l("Home"), "view"),
    ("operator.requests_to_quote", _l("Requests to quote"), "view"),
    ("operator.my_quotes", _l("My quotes"), "view"),
    ("operator.profile", _l("Profile"), "view"),
    ("operator.vehicles", _l("Fleet"), "view"),
    ("operator.drivers", _l("Drivers"), "view"),
    ("operator.trips", _l("Trips"), "view"),
    ("operator.team", _l("Team"), "view"),
    ("operator.webhooks", _l("Webhooks"), "profile"),
    ("operator.payouts", _l("Payouts"), "view"),
]

ROLE_NAMES = {
    "owner": _l("owner"),
    "dispatcher": _l("dispatcher"),
    "viewer": _l("viewer"),
}


def portal_nav() -> list[tuple[str, str]]:
    admin = g.get("admin")
    if admin is None:
        return []
    return [(endpoint, label) for endpoint, label, need in NAV if admin.role in PERMISSIONS[need]]


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        portal_nav=portal_nav,
        OPERATOR_PERMISSIONS=PERMISSIONS,
        operator_role_name=lambda role: ROLE_NAMES.get(role, role),
    )
