"""Writing webhook messages in the same transaction as the change that causes them."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from widget_server.domain.work import schedule
from widget_server.models import WebhookDelivery, WebhookEndpoint, WebhookMessage
from widget_server.models.types import rfc3339, utcnow
from widget_server.representations import EventSchema, PledgeSchema, TripSchema

EVENT_TYPES = (
    "pledge.created",
    "pledge.canceled",
    "pledge.paid",
    "pledge.action_required",
    "pledge.dropped",
    "pledge.refunded",
    "pledge.boarded",
    "trip.opened",
    "trip.confirmed",
    "trip.failed",
    "trip.canceled",
    "trip.departed",
    "demand.threshold_reached",
)
_SCHEMAS = {"pledge": PledgeSchema, "trip": TripSchema, "event": EventSchema}


def has_endpoints(partner_id) -> ColumnElement[bool]:
    """SQL: the partner (`partner_id`, a column of the row a statement writes) has an enabled
    endpoint. Asked by the statement that writes the row (in its RETURNING), so that a partner
    without webhooks costs the hot writes no query: they skip emit() when it is false."""
    return (
        exists()
        .where(WebhookEndpoint.partner_id == partner_id, WebhookEndpoint.status == "enabled")
        .label("has_webhooks")
    )


def emit(session: Session, partner_id: str, event_type: str, data) -> WebhookMessage | None:
    """Record `event_type` about `data` (a model, or a dict) for every enabled endpoint of the
    partner that subscribed to it; a delivery job per endpoint runs after commit.

    The endpoint rows are locked (FOR UPDATE, in id order) until this transaction commits, and
    the deliveries are stamped after the lock is held. So two requests emitting to one endpoint
    commit in the order of their `created_at`: a worker can never send a newer delivery while an
    older one is still uncommitted (and so invisible to its "older pending" check), whatever
    the number of app processes and workers. (SQLite serialises writers anyway.)"""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    endpoints = [
        endpoint
        for endpoint in session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.partner_id == partner_id, WebhookEndpoint.status == "enabled")
            .order_by(WebhookEndpoint.id)
            .with_for_update()
        )
        if event_type in endpoint.events or "*" in endpoint.events
    ]
    if not endpoints:
        return None
    session.flush()
    schema = _SCHEMAS.get(event_type.split(".")[0])
    body = data if isinstance(data, dict) else schema().dump(data)
    now = utcnow()
    message = WebhookMessage(
        partner_id=partner_id,
        type=event_type,
        payload={
            "type": event_type,
            "timestamp": rfc3339(now),
            "data": body,
        },
        created_at=now,
    )
    session.add(message)
    session.flush()
    for endpoint in endpoints:
        delivery = WebhookDelivery(
            partner_id=partner_id,
            endpoint_id=endpoint.id,
            message_id=message.id,
            status="pending",
            attempt_count=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(delivery)
        session.flush()
        schedule(session, "deliver_webhook", delivery.id)
    return message
