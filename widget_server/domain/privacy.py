"""Fan data requests: export one fan's data, erase it, and erase it after a retention period.

A fan is an email address within one partner (another partner's fans are never touched).
Erasing keeps the financial record (seats, amounts, statuses, provider ids, status history)
and removes the person: name, email, phone, attribution, on pledges, demand requests, waitlist
places, stop requests, emails (outbox rows) and the copies inside webhook messages not yet
delivered or kept for the log.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.pledges.waitlist import leave_line
from widget_server.domain.text import email_key
from widget_server.models import (
    DemandSignal,
    Event,
    OutboundEmail,
    Partner,
    Pledge,
    StopRequest,
    Trip,
    WaitlistEntry,
    WebhookMessage,
)
from widget_server.models.types import rfc3339, utcnow
from widget_server.representations import PledgeSchema, dump

ERASED_NAME = "[erased]"
ERASED_EMAIL = "erased@erased.invalid"
_PERSONAL_FIELDS = ("name", "email", "phone", "attribution")
# Retention erases in bounded batches per run; the next hour takes the rest.
RETENTION_BATCH = 1000


def _fan_rows(session: Session, model, email_column, partner: Partner, key: str) -> list:
    """The rows of `model` that belong to this partner's fan `key` (a folded email), in the order
    they were made."""
    return list(
        session.scalars(
            select(model)
            .where(model.partner_id == partner.id, func.lower(email_column) == key)
            .order_by(model.created_at, model.id)
        )
    )


def export_fan_data(session: Session, partner: Partner, email: str) -> dict:
    """Everything this partner holds about the fan with `email`, as JSON-ready data."""
    key = email_key(email)
    pledges = _fan_rows(session, Pledge, Pledge.email, partner, key)
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
            for signal in _fan_rows(session, DemandSignal, DemandSignal.email, partner, key)
        ],
        "waitlist_entries": [
            {
                "id": entry.id,
                "trip_id": entry.trip_id,
                "stop_id": entry.stop_id,
                "seats": entry.seats,
                "name": entry.name,
                "email": entry.email,
                "status": entry.status,
                "created_at": rfc3339(entry.created_at),
            }
            for entry in _fan_rows(session, WaitlistEntry, WaitlistEntry.email, partner, key)
        ],
        "stop_requests": [
            {
                "id": request.id,
                "trip_id": request.trip_id,
                "place": request.place,
                "address": request.address,
                "email": request.email,
                "created_at": rfc3339(request.created_at),
            }
            for request in _fan_rows(session, StopRequest, StopRequest.email, partner, key)
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
            for message in _fan_rows(session, OutboundEmail, OutboundEmail.to_address, partner, key)
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
    Emails not sent yet are not sent; a place in a waitlist ends (a held offer passes on).
    Returns counts of what was erased."""
    key = email_key(email)
    now = utcnow()
    pledges = _fan_rows(session, Pledge, Pledge.email, partner, key)
    _erase_pledges(session, pledges, now)
    demand = _fan_rows(session, DemandSignal, DemandSignal.email, partner, key)
    _erase_demand(demand, now)
    entries = _fan_rows(session, WaitlistEntry, WaitlistEntry.email, partner, key)
    for entry in entries:
        leave_line(session, entry, now=now)
    _erase_waitlist(entries)
    requests = _fan_rows(session, StopRequest, StopRequest.email, partner, key)
    _erase_stop_requests(requests)
    emails = _fan_rows(session, OutboundEmail, OutboundEmail.to_address, partner, key)
    for message in emails:
        message.to_address = ERASED_EMAIL
        message.context = {}
        if message.status in ("pending", "sending"):
            message.status = "failed"
            message.last_error = "the recipient's data was erased"
    counts = {
        "pledges": len(pledges),
        "demand_requests": len(demand),
        "waitlist_entries": len(entries),
        "stop_requests": len(requests),
        "emails": len(emails),
    }
    # The audit entry names no person: only what was erased.
    record(session, partner.id, actor, "fan.erased", "partner", partner.id, counts)
    session.flush()
    return counts


def _erase_demand(signals, now: datetime) -> None:
    for signal in signals:
        signal.email = ERASED_EMAIL
        signal.erased_at = now


def _erase_waitlist(entries) -> None:
    for entry in entries:
        entry.name = ERASED_NAME
        entry.email = ERASED_EMAIL


def _erase_stop_requests(requests) -> None:
    for request in requests:
        request.email = ERASED_EMAIL
        # Unique per trip, place and fan: each erased request keeps a key of its own.
        request.email_key = f"erased:{request.id}"
        request.address = ERASED_NAME


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
            .limit(RETENTION_BATCH)
        )
    )
    _erase_pledges(session, pledges, now)
    _erase_demand(
        session.scalars(
            select(DemandSignal)
            .where(DemandSignal.erased_at.is_(None), DemandSignal.event_id.in_(past_events))
            .limit(RETENTION_BATCH)
        ),
        now,
    )
    past_trips = select(Trip.id).where(Trip.event_id.in_(past_events))
    _erase_waitlist(
        session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.email != ERASED_EMAIL, WaitlistEntry.trip_id.in_(past_trips))
            .limit(RETENTION_BATCH)
        )
    )
    _erase_stop_requests(
        session.scalars(
            select(StopRequest)
            .where(StopRequest.email != ERASED_EMAIL, StopRequest.trip_id.in_(past_trips))
            .limit(RETENTION_BATCH)
        )
    )
    session.flush()
    return len(pledges)
