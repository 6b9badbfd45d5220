"""A card that fails after the trip confirmed (docs/payments.md, "When a card fails after the
trip confirms"). The pledge is `action_required` for its grace period (48 h), and in that time:

- the saved card is tried again by itself, `CARD_RETRY_DELAYS` after each failure (a bank often
  accepts a card a few hours after refusing it), except when the bank asks the fan to
  authenticate: only the fan can, so the card is not retried behind their back;
- the fan is emailed when the card first fails (never again for a failed automatic retry) and
  reminded once, in their language, `REMINDER_BEFORE` the period ends;
- when the period ends the pledge is dropped (`trip_outcomes.drop_if_grace_expired`): its seats
  go to the waitlist, and a confirmed trip that falls below its threshold that way tells the
  partner (`trip.below_threshold`, `transitions.transition`). The trip still runs.

A fan who gives a new card starts over: that card's failure is emailed, then retried on the
same schedule.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from widget_server.domain.errors import IllegalTransition
from widget_server.domain.notify import queue_pledge_email
from widget_server.domain.pledges.claims import CLAIM_DONE, load_pledge
from widget_server.domain.pledges.transitions import transition
from widget_server.models import Pledge
from widget_server.models.types import utcnow

# After the first failure, then after the first retry's failure: with a 48 h grace period the
# card is tried at +6 h and +24 h, and the reminder goes out at +36 h.
CARD_RETRY_DELAYS = (timedelta(hours=6), timedelta(hours=18))
REMINDER_BEFORE = timedelta(hours=12)
# Failures only the fan can fix: retrying the same card would fail the same way.
NOT_RETRIED = ("authentication_required",)


def is_automatic_retry(pledge: Pledge) -> bool:
    """Whether the attempt now failing is one of the automatic retries (their failures are not
    emailed: the fan already knows, and is reminded before the end)."""
    return pledge.card_retries > 0


def next_card_retry(
    pledge: Pledge, error_code: str | None, now: datetime, grace_ends: datetime
) -> datetime | None:
    """When the saved card is tried again after this failure, or None (no retry left, the
    failure needs the fan, or the grace period ends first)."""
    if error_code in NOT_RETRIED or pledge.card_retries >= len(CARD_RETRY_DELAYS):
        return None
    retry_at = now + CARD_RETRY_DELAYS[pledge.card_retries]
    return retry_at if retry_at < grace_ends else None


def begin_card_retry(session: Session, pledge_id: str, *, now: datetime | None = None) -> bool:
    """action_required -> charging on attempt n + 1 with the same saved card, when its retry is
    due and the grace period has not ended. The caller charges it (`charging.charge_pledge`).
    False: not due, or somebody moved the pledge first (the fan gave a new card)."""
    now = now or utcnow()
    pledge = load_pledge(session, pledge_id)
    due = (
        pledge.status == "action_required"
        and pledge.card_retry_at is not None
        and pledge.card_retry_at <= now < pledge.grace_expires_at
    )
    if not due:
        return False
    try:
        transition(
            session,
            pledge,
            "charging",
            actor="system",
            reason="card retried automatically",
            charge_attempts=pledge.charge_attempts + 1,
            card_retries=pledge.card_retries + 1,
            card_retry_at=None,
            **CLAIM_DONE,
        )
    except IllegalTransition:
        return False
    return True


def remind_fan(session: Session, pledge_id: str, *, now: datetime | None = None) -> bool:
    """Email the fan of an action_required pledge, once, that their time to give a new card
    ends soon. False: not due, already reminded, or no longer action_required."""
    now = now or utcnow()
    reminded = session.execute(
        update(Pledge)
        .where(
            Pledge.id == pledge_id,
            Pledge.status == "action_required",
            Pledge.card_reminded_at.is_(None),
            Pledge.grace_expires_at > now,
            Pledge.grace_expires_at <= now + REMINDER_BEFORE,
        )
        .values(card_reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    if reminded.rowcount != 1:
        return False
    queue_pledge_email(session, load_pledge(session, pledge_id), "card_reminder")
    return True
