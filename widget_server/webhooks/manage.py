"""What the console adds to webhook endpoints: a signed test event sent now, the delivery log
with its attempts, and resending every failed delivery since a moment.

Plain Python over a Session: flushes, never commits, raises domain errors.
"""

from __future__ import annotations

import secrets as _random
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from widget_server.config import Settings
from widget_server.domain.audit import record
from widget_server.domain.errors import Conflict
from widget_server.models import WebhookDelivery, WebhookEndpoint
from widget_server.models.types import rfc3339, utcnow
from widget_server.webhooks.delivery import Claim, Outcome, encode_body, send
from widget_server.webhooks.endpoints import retry_delivery, signing_secrets

TEST_EVENT_TYPE = "webhook.test"
LOG_LIMIT = 100
RESEND_LIMIT = 1000


def test_message(endpoint: WebhookEndpoint, *, settings: Settings) -> Claim:
    """A signed `webhook.test` message for the endpoint, ready for `send_test_event`.

    The test goes once, outside the delivery log and the retry schedule (it is not one of the
    contract's event types, so API clients listing deliveries never see it), signed like every
    message: with the current secret and, during a rotation's overlap, the previous one too."""
    if endpoint.status != "enabled":
        raise Conflict("the endpoint is disabled; enable it first")
    now = utcnow()
    message_id = "msg_test_" + _random.token_hex(12)
    body = encode_body(
        {
            "type": TEST_EVENT_TYPE,
            "timestamp": rfc3339(now),
            "data": {"endpoint_id": endpoint.id, "description": "A test event from the console"},
        }
    )
    return Claim(
        delivery_id=message_id,
        endpoint_id=endpoint.id,
        partner_id=endpoint.partner_id,
        message_id=message_id,
        attempt=1,
        url=endpoint.url,
        body=body,
        secrets=tuple(signing_secrets(endpoint, settings.secret_key, now)),
    )


def send_test_event(claim: Claim, *, settings: Settings) -> Outcome:
    """POST the test message once (SSRF rules as for every delivery) and return the answer.
    Call it with no transaction open: it waits for the receiver (at most the send timeout)."""
    return send(claim, allow_loopback=settings.webhooks_allow_loopback)


def record_test(session: Session, claim: Claim, outcome: Outcome, *, actor: str) -> None:
    """The test in the audit log, with what the receiver answered."""
    record(
        session,
        claim.partner_id,
        actor,
        "webhook_endpoint.tested",
        "webhook_endpoint",
        claim.endpoint_id,
        {"status_code": outcome.status_code, "error": outcome.error},
    )


def delivery_log(session: Session, endpoint: WebhookEndpoint, limit: int = LOG_LIMIT) -> list:
    """The endpoint's latest deliveries, newest first, with their message and every attempt."""
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .options(selectinload(WebhookDelivery.attempts), selectinload(WebhookDelivery.message))
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def resend_failed_since(
    session: Session, endpoint: WebhookEndpoint, since: datetime, *, actor: str
) -> int:
    """Give every failed delivery of the endpoint created at or after `since` one more attempt
    (same `webhook-id`, oldest first so the receiver gets them in order); returns how many."""
    if endpoint.status != "enabled":
        raise Conflict("the endpoint is disabled; enable it first")
    failed = list(
        session.scalars(
            select(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id == endpoint.id,
                WebhookDelivery.status == "failed",
                WebhookDelivery.created_at >= since,
            )
            .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
            .limit(RESEND_LIMIT)
        )
    )
    for delivery in failed:
        retry_delivery(session, delivery, actor=actor)
    return len(failed)
