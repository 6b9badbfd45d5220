"""Queueing fan emails in the outbox, in the transaction of the change that causes them."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from widget_server.domain.text import email_key
from widget_server.domain.work import schedule
from widget_server.ids import new_id
from widget_server.models import AdminUser, OutboundEmail, Partner, Pledge, StopRequest, Trip


def _queue(session: Session, email: OutboundEmail) -> OutboundEmail:
    email.id = email.id or new_id("eml")  # known now: no flush needed before scheduling its job
    email.status, email.attempts = "pending", 0
    session.add(email)
    schedule(session, "send_email", email.id)
    return email


_INSERT_EMAIL = insert(OutboundEmail.__table__)


def queue_pledge_email(session: Session, pledge: Pledge, kind: str, **context) -> str:
    """An email of `kind` to the pledge's fan, in the fan's language, sent after commit.
    Written at once by a Core INSERT rather than by the unit of work (the same row at a
    fraction of the CPU: pledging and charging write one each): the pledge's row must already
    be written, as it is wherever a pledge is emailed. Returns the email's id."""
    email_id = new_id("eml")
    session.execute(
        _INSERT_EMAIL,
        {
            "id": email_id,
            "partner_id": pledge.partner_id,
            "pledge_id": pledge.id,
            "kind": kind,
            "to_address": pledge.email,
            "locale": pledge.locale,
            "context": context,
            "status": "pending",
            "attempts": 0,
        },
    )
    schedule(session, "send_email", email_id)
    return email_id


def queue_stop_request_email(
    session: Session, request: StopRequest, kind: str, **context
) -> OutboundEmail:
    """An email of `kind` to a fan who asked for a stop (and has no pledge), in their language."""
    return _queue(
        session,
        OutboundEmail(
            partner_id=request.partner_id,
            stop_request_id=request.id,
            kind=kind,
            to_address=request.email,
            locale=request.locale,
            context=context,
        ),
    )


# Console emails and the password link each one carries (see domain.admins.LINK_LIFETIMES).
ADMIN_EMAIL_PURPOSES = {  # nosec B105: link purposes, not passwords
    "admin_password_reset": "reset",
    "admin_invite": "invite",
}


def queue_admin_email(session: Session, admin: AdminUser, kind: str, **context) -> OutboundEmail:
    """An email of `kind` to a console admin, sent after commit. The link in it is signed at
    send time, so the outbox never holds a working password link."""
    if kind not in ADMIN_EMAIL_PURPOSES:
        raise ValueError(f"unknown admin email kind {kind!r}")
    return _queue(
        session,
        OutboundEmail(
            partner_id=admin.partner_id,
            kind=kind,
            to_address=admin.email,
            locale=admin.locale or admin.partner.locale or "en",
            context={"admin_id": admin.id, **context},
        ),
    )


def queue_driver_link_email(
    session: Session, trip: Trip, to_address: str, *, generation: int
) -> OutboundEmail:
    """The trip's driver link (generation `generation`) to `to_address`, in the partner's
    language, sent after commit. Only the generation is stored: the link is signed at send
    time, and not sent at all if a newer link has been issued meanwhile."""
    return _queue(
        session,
        OutboundEmail(
            partner_id=trip.partner_id,
            kind="driver_link",
            to_address=to_address,
            locale=trip.event.partner.locale or "en",
            context={"trip_id": trip.id, "generation": generation},
        ),
    )


def queue_manage_links(session: Session, partner: Partner, trip_id: str, email: str) -> int:
    """Email the fan a fresh manage link for each of their pledges on the trip (any status:
    an ended pledge's link shows its status). Returns how many; callers must answer the same
    whether it is 0 or not, so nobody learns who pledged."""
    try:
        key = email_key(email)
    except ValueError:
        return 0
    pledges = session.scalars(
        select(Pledge)
        .where(Pledge.partner_id == partner.id, Pledge.trip_id == trip_id, Pledge.email_key == key)
        .order_by(Pledge.created_at)
    ).all()
    for pledge in pledges:
        queue_pledge_email(session, pledge, "manage_link")
    return len(pledges)
