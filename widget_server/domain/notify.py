"""Queueing fan emails in the outbox, in the transaction of the change that causes them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from widget_server.domain.work import schedule
from widget_server.models import AdminUser, OutboundEmail, Pledge


def queue_pledge_email(session: Session, pledge: Pledge, kind: str, **context) -> OutboundEmail:
    """An email of `kind` to the pledge's fan, in the fan's language, sent after commit."""
    email = OutboundEmail(
        partner_id=pledge.partner_id,
        pledge_id=pledge.id,
        kind=kind,
        to_address=pledge.email,
        locale=pledge.locale,
        context=context,
        status="pending",
        attempts=0,
    )
    session.add(email)
    session.flush()
    schedule(session, "send_email", email.id)
    return email


# Console emails and the password link each one carries (see domain.admins.LINK_LIFETIMES).
ADMIN_EMAIL_PURPOSES = {"admin_password_reset": "reset", "admin_invite": "invite"}


def queue_admin_email(session: Session, admin: AdminUser, kind: str, **context) -> OutboundEmail:
    """An email of `kind` to a console admin, sent after commit. The link in it is signed at
    send time, so the outbox never holds a working password link."""
    if kind not in ADMIN_EMAIL_PURPOSES:
        raise ValueError(f"unknown admin email kind {kind!r}")
    email = OutboundEmail(
        partner_id=admin.partner_id,
        pledge_id=None,
        kind=kind,
        to_address=admin.email,
        locale=admin.locale or admin.partner.locale or "en",
        context={"admin_id": admin.id, **context},
        status="pending",
        attempts=0,
    )
    session.add(email)
    session.flush()
    schedule(session, "send_email", email.id)
    return email
