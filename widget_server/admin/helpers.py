"""What every console template may call: the navigation, role and status names, times."""

from __future__ import annotations

from flask import Flask, flash, g
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l

from widget_server.admin.auth import PERMISSIONS
from widget_server.domain.errors import DomainError
from widget_server.extensions import db
from widget_server.models.types import utcnow

# (endpoint, label, permission to see it), in menu order.
NAV = [
    ("admin.home", _l("Events and trips"), "view"),
    ("admin.new_event", _l("New event"), "catalog"),
    ("admin.branding", _l("Branding"), "view"),
    ("admin.embed", _l("Embed code"), "view"),
    ("admin.api_clients", _l("API clients"), "view"),
    ("admin.webhooks", _l("Webhooks"), "developers"),
    ("admin.team", _l("Team"), "view"),
    ("admin.audit_log", _l("Audit log"), "view"),
    ("admin.fans", _l("Fan data"), "catalog"),
    ("admin.account", _l("Account"), "self"),
]

ROLE_NAMES = {
    "owner": _l("owner"),
    "editor": _l("editor"),
    "developer": _l("developer"),
    "viewer": _l("viewer"),
}

STATUS_NAMES = {
    "draft": _l("draft"),
    "open": _l("open"),
    "confirmed": _l("confirmed"),
    "completed": _l("completed"),
    "failed": _l("failed"),
    "canceled": _l("canceled"),
    "pledged": _l("pledged"),
    "charging": _l("charging"),
    "paid": _l("paid"),
    "action_required": _l("action required"),
    "dropped": _l("dropped"),
    "released": _l("released"),
    "refunded": _l("refunded"),
}


def console_nav() -> list[tuple[str, str]]:
    admin = g.get("admin")
    if admin is None:
        return []
    return [(endpoint, label) for endpoint, label, need in NAV if admin.role in PERMISSIONS[need]]


def when(moment) -> str:
    """A UTC moment in the viewer's language (UTC, since admins sit in many zones)."""
    return format_datetime(moment, "medium") + " UTC" if moment else "—"


def act(change, success: str) -> bool:
    """Run `change(session)` in one transaction; flash `success`, or the domain's reason when a
    rule says no (nothing is changed then). True when it was done."""
    try:
        with db.transaction() as session:
            change(session)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail)
        return False
    flash(success)
    return True


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        console_nav=console_nav,
        role_name=lambda role: ROLE_NAMES.get(role, role),
        status_name=lambda status: STATUS_NAMES.get(status, status),
        when=when,
        now_utc=utcnow,
    )
