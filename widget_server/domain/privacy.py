"""Fan data requests: export one fan's data, erase it, and erase it after a retention period.

A fan is an email address within one partner (another partner's fans are never touched).
Erasing keeps the financial record (seats, amounts, statuses, provider ids, status history)
and removes the person: name, email, phone, attribution, on pledges, demand requests, emails
(outbox rows) and the copies inside webhook messages not yet delivered or kept for the log.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.text import email_key
from widget_server.models import (
    DemandSignal,
    Event,
    OutboundEmail,
    Partner,
    Pledge,
    Trip,
    WebhookMessage,
)
from widget_server.models.types import rfc3339, utcnow
from widget_server.representations import PledgeSchema, dump

ERASED_NAME = "[erased]"
ERASED_EMAIL = "erased@erased.invalid"
_PERSONAL_FIELDS = ("name", "email", "phone", "attribution")


def _fan_pledges(session: Session, partner: Partner, key: str) -> list[Pledge]:
    return list(
        session.scalars(
            select(Pledge)
            .where(Pledge.partner_id == partner.id, func.lower(Pledge.email) == key)
            .order_by(Pledge.id)
        )
    )


def _fan_demand(session: Session, partner: Partner, key: str) -> list[DemandSignal]:
    return list(
        session.scalars(
            select(DemandSignal)
            .where(DemandSignal.partner_id == partner.id, func.lower(DemandSignal.email) == key)
            .order_by(DemandSignal.id)
        )
    )


def _fan_emails(session: Session, partner: Partner, key: str) -> list[OutboundEmail]:
    return list(
        session.scalars(
            select(OutboundEmail)
            .where(
                OutboundEmail.partner_id == partner.id, func.lower(OutboundEmail.to_address) == key
            )
            .order_by(OutboundEmail.created_at, OutboundEmail.id)
        )
    )


def export_fan_data(session: Session, partner: Partner, email: str) -> dict:
    """Everything this partner holds about the fan with `email`, as JSON-ready data."""
    key = email_key(email)
    pledges = _fan_pledges(session, partner, key)
    return {
        "object": "fan_export",
        "email": email,
        "pledges": [
            {
                **dump(PledgeSchema, pledge),
                "history": [
                    {
                        "from_status": change.from_status,
                        "to_status": change.to_status,
                        "reason": change.reason,
                        "at": rfc3339(change.created_at),
                    }
                    for change in pledge.history
                ],
            }
            for pledge in pledges
        ],
        "demand_requests": [
            {
                "id": signal.id,
                "event_id": signal.event_id,
                "origin": signal.origin,
                "email": signal.email,
                "locale": signal.locale,
                "created_at": rfc3339(signal.created_at),
            }
            for signal in _fan_demand(session, partner, key)
        ],
        "emails": [
            {
                "id": message.id,
                "kind": message.kind,
                "to": message.to_address,
                "pledge_id": message.pledge_id,
                "status": message.status,
                "created_at": rfc3339(message.created_at),
                "sent_at": rfc3339(message.sent_at),
            }
            for message in _fan_emails(session, partner, key)
        ],
    }


def _erase_pledges(session: Session, pledges: list[Pledge], now: datetime) -> None:
    for pledge in pledges:
        pledge.name = ERASED_NAME
        pledge.email = ERASED_EMAIL
        pledge.phone = None
        pledge.attribution = {}
        pledge.erased_at = now
    _scrub_webhook_messages(session, {pledge.partner_id for pledge in pledges}, pledges)


def _scrub_webhook_messages(session: Session, partner_ids: set[str], pledges: list[Pledge]):
    """Webhook bodies carry the pledge object; their copies of the person go too."""
    ids = {pledge.id for pledge in pledges}
    if not ids:
        return
    messages = session.scalars(
        select(WebhookMessage).where(
            WebhookMessage.partner_id.in_(partner_ids), WebhookMessage.type.like("pledge.%")
        )
    )
    for message in messages:
        data = (message.payload or {}).get("data") or {}
        if data.get("id") in ids:
            data = {**data, "name": ERASED_NAME, "email": ERASED_EMAIL, "phone": None}
            data["attribution"] = {}
            message.payload = {**message.payload, "data": data}


def erase_fan(session: Session, partner: Partner, email: str, *, actor: str) -> dict[str, int]:
    """Remove the person behind `email` from this partner's data, keeping financial records.
    Emails not sent yet are not sent. Returns counts of what was erased."""
    key = email_key(email)
    now = utcnow()
    pledges = _fan_pledges(session, partner, key)
    _erase_pledges(session, pledges, now)
    demand = _fan_demand(session, partner, key)
    for signal in demand:
        signal.email = ERASED_EMAIL
        signal.erased_at = now
    emails = _fan_emails(session, partner, key)
    for message in emails:
        message.to_address = ERASED_EMAIL
        message.context = {}
        if message.status in ("pending", "sending"):
            message.status = "failed"
            message.last_error = "the recipient's data was erased"
    counts = {"pledges": len(pledges), "demand_requests": len(demand), "emails": len(emails)}
    # The audit entry names no person: only what was erased.
    record(session, partner.id, actor, "fan.erased", "partner", partner.id, counts)
    session.flush()
    return counts


def erase_expired_fan_data(session: Session, now: datetime, retention_days: int) -> int:
    """Erase fan data of events that started more than `retention_days` ago (the trip is over
    by then). Returns how many pledges were erased."""
    cutoff = now - timedelta(days=retention_days)
    past_events = select(Event.id).where(Event.starts_at < cutoff)
    pledges = list(
        session.scalars(
            select(Pledge)
            .join(Trip, Trip.id == Pledge.trip_id)
            .where(Pledge.erased_at.is_(None), Trip.event_id.in_(past_events))
            .limit(1000)  # a bounded batch per run; the next hour takes the rest
        )
    )
    _erase_pledges(session, pledges, now)
    demand = session.scalars(
        select(DemandSignal)
        .where(DemandSignal.erased_at.is_(None), DemandSignal.event_id.in_(past_events))
        .limit(1000)
    )
    for signal in demand:
        signal.email = ERASED_EMAIL
        signal.erased_at = now
    session.flush()
    return len(pledges)
