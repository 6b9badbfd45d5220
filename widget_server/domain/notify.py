"""Queueing fan emails in the outbox, in the transaction of the change that causes them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from widget_server.domain.work import schedule
from widget_server.models import OutboundEmail, Pledge


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
