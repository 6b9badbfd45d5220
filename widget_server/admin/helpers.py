"""What every console template may call: the navigation, role and status names, and
`console_time`, the one way the console writes a date and time."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from flask import Flask, flash, g
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from widget_server.admin.auth import PERMISSIONS
from widget_server.backoffice.messages import console_message
from widget_server.domain.errors import DomainError
from widget_server.extensions import db
from widget_server.models import Event
from widget_server.models.types import utcnow

# (endpoint, label, permission to see it), in menu order.
NAV = [
    ("admin.home", _l("Events and trips"), "view"),
    ("admin.new_event", _l("New event"), "catalog"),
    ("admin.demand", _l("Demand"), "view"),
    ("admin.buses", _l("Buses"), "view"),
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
    # requests for a bus and quotes (admin/buses.py)
    "awarded": _l("awarded"),
    "not_awarded": _l("not chosen"),
    "withdrawn": _l("withdrawn"),
}

VEHICLE_KIND_NAMES = {
    "coach": _l("coach"),
    "school_bus": _l("school bus"),
    "minibus": _l("minibus"),
    "van": _l("van"),
}


def console_nav() -> list[tuple[str, str]]:
    admin = g.get("admin")
    if admin is None:
        return []
    return [(endpoint, label) for endpoint, label, need in NAV if admin.role in PERMISSIONS[need]]


# A new partner's zone until it has events (by its language).
DEFAULT_ZONE = {"en": "America/Chicago", "es": "Europe/Madrid", "fr": "Europe/Paris"}


def partner_zone() -> str:
    """The partner's time zone: that of its most recently created event (where it runs
    trips), or its language's default before it has any. Once per request."""
    if "console_zone" not in g:
        partner = g.get("partner")
        zone = None
        if partner is not None:
            zone = db.session.scalar(
                select(Event.timezone)
                .where(Event.partner_id == partner.id)
                .order_by(Event.created_at.desc(), Event.id.desc())
                .limit(1)
            )
        locale = partner.locale if partner is not None else "en"
        g.console_zone = zone or DEFAULT_ZONE.get(locale, "UTC")
    return g.console_zone


@lru_cache(maxsize=8)
def _pattern(locale: str) -> str:
    """The locale's medium date with its short time (no seconds): "Nov 14, 2030, 7:05 PM"."""
    parsed = Locale.parse(locale)
    return (
        parsed.datetime_formats["medium"]
        .replace("{1}", parsed.date_formats["medium"].pattern)
        .replace("{0}", parsed.time_formats["short"].pattern)
    )


def console_time(moment: datetime | None, zone: str | None = None) -> str:
    """Every date and time in the console, one format per language: a UTC moment in the
    partner's time zone, or in `zone` (an event's), named when it is not the partner's."""
    if moment is None:
        return "—"
    home = partner_zone()
    shown = zone or home
    locale = str(get_locale() or "en")
    text = format_datetime(moment, _pattern(locale), tzinfo=ZoneInfo(shown), locale=locale)
    return text if shown == home else f"{text} ({shown})"


def act(change, success: str) -> bool:
    """Run `change(session)` in one transaction; flash `success`, or the domain's reason when a
    rule says no (nothing is changed then). True when it was done."""
    try:
        with db.transaction() as session:
            change(session)
    except DomainError as exc:
        db.session.rollback()
        flash(console_message(exc.detail))
        return False
    flash(success)
    return True


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        console_nav=console_nav,
        role_name=lambda role: ROLE_NAMES.get(role, role),
        status_name=lambda status: STATUS_NAMES.get(status, status),
        vehicle_kind_name=lambda kind: VEHICLE_KIND_NAMES.get(kind, kind or "—"),
        console_time=console_time,
        partner_zone=partner_zone,
        now_utc=utcnow,
    )
