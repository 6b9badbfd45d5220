"""Deleting what is only kept for a while. Run hourly by the worker (one run across all hosts).

- idempotency records: replayable for 24 h (the contract), deleted after KEEP_IDEMPOTENCY;
- webhook attempts: the log of each try, kept KEEP_WEBHOOK_ATTEMPTS (deliveries stay);
- sent emails: the outbox row of a sent email, kept KEEP_SENT_EMAILS;
- access tokens: expired or revoked for a day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from widget_server.models import AccessToken, IdempotencyRecord, OutboundEmail, WebhookAttempt

KEEP_IDEMPOTENCY = timedelta(hours=25)
KEEP_WEBHOOK_ATTEMPTS = timedelta(days=30)
KEEP_SENT_EMAILS = timedelta(days=30)
KEEP_DEAD_TOKENS = timedelta(days=1)


def purge_expired(session: Session, now: datetime) -> dict[str, int]:
    """Delete every expired record; returns how many of each kind went."""

    def purge(statement) -> int:
        return session.execute(statement.execution_options(synchronize_session=False)).rowcount

    counts = {
        "idempotency_records": purge(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - KEEP_IDEMPOTENCY)
        ),
        "webhook_attempts": purge(
            delete(WebhookAttempt).where(WebhookAttempt.attempted_at < now - KEEP_WEBHOOK_ATTEMPTS)
        ),
        "sent_emails": purge(
            delete(OutboundEmail).where(
                OutboundEmail.status == "sent", OutboundEmail.sent_at < now - KEEP_SENT_EMAILS
            )
        ),
        "access_tokens": purge(
            delete(AccessToken).where(
                or_(
                    AccessToken.expires_at < now - KEEP_DEAD_TOKENS,
                    AccessToken.revoked_at < now - KEEP_DEAD_TOKENS,
                )
            )
        ),
    }
    session.flush()
    return counts
