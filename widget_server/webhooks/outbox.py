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
    "trip.operator_withdrew",
    "quote.created",
    "quote.updated",
    "quote.withdrawn",
    "demand.threshold_reached",
)
# What an operator's endpoints can subscribe to (news about its requests, quotes, trips, money).
OPERATOR_EVENT_TYPES = (
    "trip_request.created",
    "quote.awarded",
    "quote.not_awarded",
    "trip.confirmed",
    "trip.failed",
    "trip.canceled",
    "trip.completed",
    "trip.departed",
    "payout.paid",
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
    return _emit(session, {"partner_id": partner_id}, event_type, data)


def emit_to_operator(
    session: Session, operator_id: str, event_type: str, data: dict
) -> WebhookMessage | None:
    """`emit` for an operator's endpoints (`OPERATOR_EVENT_TYPES`); `data` is the dict the
    operator may see (never fans' details)."""
    if event_type not in OPERATOR_EVENT_TYPES:
        raise ValueError(f"unknown operator webhook event type {event_type!r}")
    return _emit(session, {"operator_id": operator_id}, event_type, data)


def _emit(session: Session, owner: dict, event_type: str, data) -> WebhookMessage | None:
    """The message and its deliveries for the endpoints of `owner` ({"partner_id": ...} or
    {"operator_id": ...}) subscribed to `event_type` (see `emit` for the locking)."""
    ((column, owner_id),) = owner.items()
    endpoints = [
        endpoint
        for endpoint in session.scalars(
            select(WebhookEndpoint)
            .where(
                getattr(WebhookEndpoint, column) == owner_id,
                WebhookEndpoint.status == "enabled",
            )
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
        **owner,
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
            **owner,
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
