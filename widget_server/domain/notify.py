"""Queueing fan emails in the outbox, in the transaction of the change that causes them."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from widget_server.domain.text import email_key, fan_email_key
from widget_server.domain.work import schedule, unschedule
from widget_server.ids import new_id
from widget_server.models import AdminUser, OutboundEmail, Partner, Pledge, StopRequest, Trip
from widget_server.models.notifications import NEWS_EMAIL_KINDS


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


def queue_pledge_received(session: Session, pledge: Pledge, trip_status: str) -> str | None:
    """The "pledge received" email ("nothing charged yet, you can withdraw"), only for a pledge
    on an open trip. On a confirmed trip the seats are charged at once, and that charge's
    email (`pledge_paid`, or `action_required` when the card fails) is the fan's one email
    about the pledge: it carries the pledge's details. Returns the email's id, or None."""
    if trip_status != "open":
        return None
    return queue_pledge_email(session, pledge, "pledge_received")


def unqueue_email(session: Session, email_id: str) -> None:
    """Take back an email queued earlier in this transaction: nothing was sent (sending waits
    for the commit), so the fan never gets it. For a pledge that turned out to confirm its
    trip (`record_pledge`), whose "received" email the charge's email replaces."""
    session.execute(delete(OutboundEmail).where(OutboundEmail.id == email_id))
    unschedule(session, "send_email", email_id)


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


# Console emails and the password link each one carries
# (see domain.accounts.password_links.LINK_LIFETIMES).
ADMIN_EMAIL_PURPOSES = {  # nosec B105: link purposes, not passwords
    "admin_password_reset": "reset",
    "admin_invite": "invite",
}


def queue_admin_email(session: Session, admin: AdminUser, kind: str, **context) -> OutboundEmail:
    """An email of `kind` to a console admin (or an operator's teammate), sent after commit.
    The link in it is signed at send time, so the outbox never holds a working password
    link."""
    if kind not in ADMIN_EMAIL_PURPOSES:
        raise ValueError(f"unknown admin email kind {kind!r}")
    return _queue(
        session,
        OutboundEmail(
            partner_id=admin.partner_id,
            operator_id=admin.operator_id,
            kind=kind,
            to_address=admin.email,
            locale=admin.locale or getattr(admin.tenant, "locale", None) or "en",
            context={"admin_id": admin.id, **context},
        ),
    )


def ask_manage_links(session: Session, partner: Partner, trip_id: str, email: str) -> None:
    """ "Email me my link": schedule the `send_manage_links` job, which looks the pledges up.
    The request does the same work whether or not the fan pledged (or the trip exists), so
    neither its answer nor its timing tells who pledged."""
    schedule(session, "send_manage_links", partner.id, trip_id, email)


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
    """Email the fan a fresh manage link for each of their pledges on the trip made with this
    very address (any case; any status: an ended pledge's link shows its status). Returns
    how many."""
    try:
        key, exact = fan_email_key(email), email_key(email)
    except ValueError:
        return 0
    candidates = session.scalars(
        select(Pledge)
        .where(Pledge.partner_id == partner.id, Pledge.trip_id == trip_id, Pledge.email_key == key)
        .order_by(Pledge.created_at)
    ).all()
    # The canonical key finds fan+1@x's pledges for fan@x too; links go to the address used.
    pledges = [pledge for pledge in candidates if email_key(pledge.email) == exact]
    for pledge in pledges:
        queue_pledge_email(session, pledge, "manage_link")
    return len(pledges)


def queue_news_email(
    session: Session,
    *,
    kind: str,
    to_address: str,
    locale: str,
    context: dict,
    partner_id: str | None = None,
    operator_id: str | None = None,
) -> OutboundEmail:
    """A news email of `kind` (`context`: "event_type", "data", "sender", frozen now), sent
    after commit, to a partner's admin (`partner_id`) or an operator's people (`operator_id`)."""
    if kind not in NEWS_EMAIL_KINDS:
        raise ValueError(f"unknown news email kind {kind!r}")
    return _queue(
        session,
        OutboundEmail(
            partner_id=partner_id,
            operator_id=operator_id,
            kind=kind,
            to_address=to_address,
            locale=locale or "en",
            context=context,
        ),
    )
