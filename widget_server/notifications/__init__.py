"""Owns sending emails: the outbox rows that domain.notify.queue_pledge_email writes.

A row goes pending -> sending -> sent. `send_email` claims it with one conditional UPDATE, so
two jobs (a retry, the sweep, a duplicate enqueue) never both send it; it renders and delivers
outside any transaction, then records the outcome. For a row in `sending`, `sent_at` holds when
the attempt started; one left there longer than STALE_AFTER (a worker died mid-send) is pending
again. An email that can never go out (see errors.Undeliverable) ends as `failed`.

Delivery is at least once: a crash after the server accepted the message but before the row was
marked sent means it is sent again (with the same Message-ID) once it has gone stale.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from widget_server.extensions import db
from widget_server.models import AdminUser, OutboundEmail, Pledge, StopRequest, Trip, WaitlistEntry
from widget_server.models.notifications import (
    ADMIN_EMAIL_KINDS,
    NEWS_EMAIL_KINDS,
    OPERATOR_EMAIL_KINDS,
)
from widget_server.models.types import utcnow
from widget_server.notifications.errors import Undeliverable
from widget_server.notifications.render import RenderedEmail, render_email
from widget_server.notifications.transport import Envelope, compose, deliver, sender_domain

__all__ = ["STALE_AFTER", "RenderedEmail", "Undeliverable", "pending_email_ids", "send_email"]

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)


def _abandoned(now: datetime):
    """A `sending` row whose attempt started more than STALE_AFTER ago."""
    return and_(
        OutboundEmail.status == "sending",
        or_(OutboundEmail.sent_at.is_(None), OutboundEmail.sent_at < now - STALE_AFTER),
    )


def pending_email_ids(session: Session, *, now: datetime | None = None) -> list[str]:
    """Ids of the emails waiting to be sent, oldest first. Rows abandoned in `sending` are put
    back to pending first (the caller's transaction commits that)."""
    now = now or utcnow()
    session.execute(
        update(OutboundEmail)
        .where(_abandoned(now))
        .values(status="pending", sent_at=None, last_error="abandoned while sending; retried")
        .execution_options(synchronize_session=False)
    )
    return list(
        session.scalars(
            select(OutboundEmail.id)
            .where(OutboundEmail.status == "pending")
            .order_by(OutboundEmail.created_at, OutboundEmail.id)
        )
    )


def send_email(email_id: str) -> bool:
    """Send one outbox email, at most once at a time. Returns True if this call sent it, False
    if there was nothing to do (already sent, being sent, unknown) or it can never be sent.

    A delivery error puts the row back to pending with `last_error` and is raised again, so the
    job queue retries it (and the sweep finds it later if the retries run out)."""
    with db.transaction() as session:
        attempt = _claim(session, email_id, utcnow())
    if attempt is None:
        return False
    settings = current_app.config["SETTINGS"]
    try:
        with db.transaction() as session:  # reads only; ends before any network traffic
            message = _message(session, email_id, settings.public_base_url)
        deliver(message, email_id, smtp_url=settings.smtp_url, instance_path=settings.instance_path)
    except Undeliverable as exc:
        _record(email_id, attempt, status="failed", error=exc)
        log.warning("email %s cannot be sent: %s", email_id, exc)
        return False
    except Exception as exc:
        _record(email_id, attempt, status="pending", error=exc)
        log.warning("email %s not sent (attempt %s): %s", email_id, attempt, exc)
        raise
    _record(email_id, attempt, status="sent", sent_at=utcnow())
    log.info("email %s sent (attempt %s)", email_id, attempt)
    return True


def _claim(session: Session, email_id: str, now: datetime) -> int | None:
    """pending (or abandoned) -> sending in one statement; the attempt number, or None if
    another worker has it or it is done."""
    row = session.execute(
        update(OutboundEmail)
        .where(
            OutboundEmail.id == email_id,
            or_(OutboundEmail.status == "pending", _abandoned(now)),
        )
        .values(status="sending", attempts=OutboundEmail.attempts + 1, sent_at=now)
        .returning(OutboundEmail.attempts)
        .execution_options(synchronize_session=False)
    ).first()
    return row.attempts if row else None


def _message(session: Session, email_id: str, public_base_url: str) -> EmailMessage:
    email = session.get(OutboundEmail, email_id, populate_existing=True)
    if email is None:
        raise Undeliverable("the email row is gone")
    if email.kind in ADMIN_EMAIL_KINDS:
        return _admin_message(session, email, public_base_url)
    if email.kind in OPERATOR_EMAIL_KINDS:
        return _operator_message(session, email, public_base_url)
    if email.kind in NEWS_EMAIL_KINDS:
        return _news_message(email, public_base_url)
    pledge = session.get(Pledge, email.pledge_id) if email.pledge_id else None
    entry = session.get(WaitlistEntry, email.waitlist_entry_id) if email.waitlist_entry_id else None
    request = session.get(StopRequest, email.stop_request_id) if email.stop_request_id else None
    rendered = render_email(email, pledge, entry=entry, stop_request=request)
    about = pledge or entry or request
    envelope = Envelope(
        email_id=email.id,
        to_name=getattr(about, "name", ""),  # a stop request has no name, only the address
        to_address=email.to_address,
        partner_name=about.trip.event.partner.name,
        reply_to=about.trip.event.partner.support_email,
        locale=rendered.locale,
    )
    return compose(
        envelope,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        domain=sender_domain(public_base_url),
        images=rendered.images,
    )


def _admin_message(session: Session, email: OutboundEmail, public_base_url: str) -> EmailMessage:
    from widget_server.notifications.admin_emails import render_admin_email

    admin = session.get(AdminUser, (email.context or {}).get("admin_id"))
    rendered = render_admin_email(email, admin)
    return _plain_message(email, rendered, public_base_url, partner_name=admin.tenant.name)


def _plain_message(
    email: OutboundEmail,
    rendered: RenderedEmail,
    public_base_url: str,
    *,
    partner_name: str,
    to_name: str = "",
    reply_to: str | None = None,
) -> EmailMessage:
    """A rendered email without images (console and operator emails) as a message."""
    envelope = Envelope(
        email_id=email.id,
        to_name=to_name,
        to_address=email.to_address,
        partner_name=partner_name,
        reply_to=reply_to,
        locale=rendered.locale,
    )
    return compose(
        envelope,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        domain=sender_domain(public_base_url),
    )


def _operator_message(session: Session, email: OutboundEmail, public_base_url: str) -> EmailMessage:
    from widget_server.notifications.driver_emails import render_driver_link_email

    trip = session.get(Trip, (email.context or {}).get("trip_id"))
    rendered = render_driver_link_email(email, trip)
    partner = trip.event.partner
    return _plain_message(
        email,
        rendered,
        public_base_url,
        partner_name=partner.name,
        # The operator's name only on the operator's own address (an admin may type another).
        to_name=(trip.operator_name or "") if email.to_address == trip.operator_email else "",
        reply_to=partner.support_email,
    )


def _news_message(email: OutboundEmail, public_base_url: str) -> EmailMessage:
    from widget_server.notifications.news_emails import render_news_email

    rendered = render_news_email(email)
    sender = (email.context or {}).get("sender") or "RidePledge"
    return _plain_message(email, rendered, public_base_url, partner_name=sender)


def _record(
    email_id: str,
    attempt: int,
    *,
    status: str,
    error: BaseException | None = None,
    sent_at: datetime | None = None,
) -> None:
    """The outcome of attempt `attempt`, unless a newer attempt has taken the row since."""
    values: dict = {"status": status, "sent_at": sent_at}
    if error is not None:
        values["last_error"] = f"{type(error).__name__}: {error}"[:500]
    with db.transaction() as session:
        session.execute(
            update(OutboundEmail)
            .where(
                OutboundEmail.id == email_id,
                OutboundEmail.status == "sending",
                OutboundEmail.attempts == attempt,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
