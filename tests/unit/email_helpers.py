"""Shared by the email tests: the locales, a queued outbox email about a fresh pledge, and
parsing of the sent message."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from tests.factories import make_event, make_partner, make_trip
from widget_server.domain.notify import queue_pledge_email
from widget_server.extensions import db
from widget_server.models import OutboundEmail, Pledge
from widget_server.models.types import utcnow

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "widget_server" / "translations"
LOCALES = ("en", "es", "fr")
CURRENCY = {"en": "USD", "es": "EUR", "fr": "EUR"}
EVENT_STARTS = datetime(2030, 11, 15, 1, 0, tzinfo=UTC)  # 7 PM on Nov 14 in Chicago (CST)
GRACE_EXPIRES = datetime(2030, 11, 10, 18, 0, tzinfo=UTC)  # noon on Nov 10 in Chicago
ERROR = "Your card has insufficient funds."

# Where each email finds its pledge when it is sent.
STATUS = {
    "pledge_received": "pledged",
    "pledge_paid": "paid",
    "bus_leaving": "paid",
    "trip_failed": "released",
    "action_required": "action_required",
    "pledge_dropped": "dropped",
    "pledge_refunded": "refunded",
    "pledge_canceled": "canceled",
    "trip_canceled": "released",
}


def spaces(text: str) -> str:
    """Babel and French typography use no-break spaces; compare them as plain spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def queue_email(
    kind: str = "pledge_received",
    *,
    locale: str = "en",
    currency: str | None = None,
    partner: dict | None = None,
    event: dict | None = None,
    **context,
) -> str:
    """A partner, event, trip and pledge, and one outbox email about them (committed)."""
    status = STATUS.get(kind, "pledged")
    with db.transaction() as session:
        fields = {
            "currency": currency or CURRENCY.get(locale, "USD"),
            "support_email": "help@chiefs.example",
            "branding": {"primary_color": "#c8102e"},
            **(partner or {}),
        }
        owner = make_partner(session, "kc-chiefs", **fields)
        game = make_event(session, owner, starts_at=EVENT_STARTS, **(event or {}))
        trip = make_trip(session, owner, game)
        pledge = Pledge(
            partner_id=owner.id,
            trip_id=trip.id,
            stop_id=trip.stops[0].id,
            seats=2,
            unit_amount=trip.unit_amount,
            amount=trip.unit_amount * 2,
            currency=trip.currency,
            name="Alex Fan",
            email="alex@example.com",
            locale=locale,
            status=status,
            paid_at=utcnow() if status in ("paid", "refunded") else None,
            grace_expires_at=GRACE_EXPIRES if status in ("action_required", "dropped") else None,
        )
        session.add(pledge)
        session.flush()
        if kind == "action_required":
            context.setdefault("error", ERROR)
        return queue_pledge_email(session, pledge, kind, **context)


def outbox_file(settings, email_id: str) -> Path:
    return settings.instance_path / "outbox" / f"{email_id}.eml"


def parse(data: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(data)


def parts(message: EmailMessage) -> tuple[str, str, str]:
    """Subject, plain text and html of a message, with no-break spaces as spaces."""
    text = message.get_body(("plain",)).get_content()
    markup = message.get_body(("html",)).get_content()
    return spaces(str(message["Subject"])), spaces(text), spaces(markup)


def reload(session, email_id: str) -> OutboundEmail:
    session.rollback()  # a new snapshot: other threads and connections wrote since
    return session.get(OutboundEmail, email_id, populate_existing=True)
