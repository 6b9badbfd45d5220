"""Charging a pledge: claiming its charge, recording the outcome, replacing a declined card.

What a provider failure does depends on whose it is (see docs/payments.md):
temporary (`PaymentError`): the claim is dropped and the next try waits (`retry_at`, doubling,
bounded by MAX_TEMPORARY_FAILURES, after which the fan is asked to act); the card's fault (a
declined or requires_action result): `action_required`, the fan is emailed; permanent
(`PermanentPaymentError`): the pledge is `dropped` (seats freed, audited, `pledge.dropped`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.errors import IllegalTransition
from widget_server.domain.notify import queue_pledge_email
from widget_server.domain.pledges import card_recovery
from widget_server.domain.pledges.claims import (
    CLAIM_DONE,
    LEASE,
    MAX_TEMPORARY_FAILURES,
    load_pledge,
    release_claim,
    take_claim,
)
from widget_server.domain.pledges.planning import CardSetup
from widget_server.domain.pledges.refunds import request_refund
from widget_server.domain.pledges.transitions import transition
from widget_server.domain.work import schedule
from widget_server.models import Pledge
from widget_server.models.types import utcnow
from widget_server.payments import (
    ChargeResult,
    PaymentError,
    PermanentPaymentError,
    SavedCard,
)

GRACE_PERIOD = timedelta(hours=48)

# Trips whose pledges are charged: a trip completed before the worker got to its charges
# still has them charged.
CHARGED_TRIP_STATUSES = ("confirmed", "completed")


@dataclass(frozen=True)
class ChargeAttempt:
    pledge_id: str
    attempt: int
    amount: int
    currency: str
    customer_ref: str
    payment_method_ref: str
    # The trip was canceled while this attempt's outcome was unknown: ask the provider what
    # became of it (`find_charge`), never charge (a canceled trip charges nobody).
    look_up_only: bool = False

    @property
    def key(self) -> str:
        return f"pledge-{self.pledge_id}-charge-{self.attempt}"


def current_attempt(pledge: Pledge) -> ChargeAttempt:
    """The charge attempt a `charging` pledge is waiting on."""
    return ChargeAttempt(
        pledge.id,
        pledge.charge_attempts,
        pledge.amount,
        pledge.currency,
        pledge.payment_customer_ref,
        pledge.payment_method_ref,
    )


def begin_charge(
    session: Session, pledge_id: str, *, now: datetime | None = None
) -> ChargeAttempt | None:
    """Claim the pledge's charge and return what to charge, or None: nothing to charge, or
    another caller holds the claim (it talks to the provider; this one stands aside), or the
    next try after a temporary failure is not due yet.

    `pledged` on a confirmed (or already completed) trip starts attempt n + 1; a `charging`
    pledge keeps its attempt, so a resumed charge sends the same idempotency key. On a canceled
    trip a `charging` pledge's attempt comes back `look_up_only`: the caller asks the provider
    what became of it instead of charging, and `finish_charge` ends the pledge.
    """
    now = now or utcnow()
    pledge = load_pledge(session, pledge_id)
    if pledge.status == "pledged" and pledge.trip.status in CHARGED_TRIP_STATUSES:
        try:
            transition(
                session,
                pledge,
                "charging",
                actor="system",
                charge_attempts=pledge.charge_attempts + 1,
                claim_expires_at=now + LEASE,
                retry_at=None,
                provider_failures=0,
            )
        except IllegalTransition:
            return None  # a concurrent caller began this charge first and owns it
        return current_attempt(pledge)
    if pledge.status == "charging":
        attempt = pledge.charge_attempts
        same_attempt = (Pledge.status == "charging") & (Pledge.charge_attempts == attempt)
        if take_claim(session, pledge, same_attempt, now):
            return replace(current_attempt(pledge), look_up_only=pledge.trip.status == "canceled")
    return None


def finish_charge(
    session: Session,
    attempt: ChargeAttempt,
    result: ChargeResult | None,
    *,
    now: datetime | None = None,
    grace: timedelta = GRACE_PERIOD,
) -> Pledge:
    """Record the outcome of `attempt`. A stale or repeated outcome changes nothing. `result`
    None: a look-up found no charge made under the attempt's key (the trip was canceled), so
    the pledge is released with nothing charged."""
    now = now or utcnow()
    pledge = load_pledge(session, attempt.pledge_id)
    if pledge.status != "charging" or pledge.charge_attempts != attempt.attempt:
        return pledge
    if result is None:
        return _release_unpaid(session, pledge, "trip canceled")
    try:
        return _record_charge_outcome(session, pledge, result, now=now, grace=grace)
    except IllegalTransition:
        # Another finisher of this same attempt (a duplicate job, the sweep or the Stripe
        # webhook) recorded it between our read and our update: a repeated outcome.
        return load_pledge(session, attempt.pledge_id)


def _record_charge_outcome(
    session: Session, pledge: Pledge, result: ChargeResult, *, now: datetime, grace: timedelta
) -> Pledge:
    if result.succeeded:
        transition(
            session,
            pledge,
            "paid",
            actor="system",
            paid_at=now,
            payment_intent_ref=result.intent_ref,
            last_payment_error=None,
            **CLAIM_DONE,
        )
        if pledge.trip.status == "canceled":
            request_refund(session, pledge, now=now)
        else:
            queue_pledge_email(session, pledge, "pledge_paid")
        return pledge
    if pledge.trip.status == "canceled":
        return _release_unpaid(session, pledge, "trip canceled")
    return _needs_the_fan(
        session, pledge, result.error_code, result.message, result.intent_ref, now, grace
    )


def _release_unpaid(session: Session, pledge: Pledge, reason: str, **changes) -> Pledge:
    """charging -> released on a canceled trip: nothing was charged (or nothing can be found
    to have been); the claim is dropped and the fan told the trip is off."""
    try:
        transition(
            session, pledge, "released", actor="system", reason=reason, **{**CLAIM_DONE, **changes}
        )
    except IllegalTransition:  # a concurrent finisher recorded this attempt first
        return load_pledge(session, pledge.id)
    queue_pledge_email(session, pledge, "trip_canceled")
    return pledge


def _needs_the_fan(session, pledge, code, message, intent_ref, now, grace) -> Pledge:
    """charging -> action_required: the fan is emailed a link to give another card (not after
    a failed automatic retry: see card_recovery), and the saved card's next retry is set."""
    grace_ends = pledge.grace_expires_at or now + grace
    automatic = card_recovery.is_automatic_retry(pledge)
    transition(
        session,
        pledge,
        "action_required",
        actor="system",
        reason=code,
        payment_intent_ref=intent_ref or pledge.payment_intent_ref,
        last_payment_error=message,
        grace_expires_at=grace_ends,
        card_retry_at=card_recovery.next_card_retry(pledge, code, now, grace_ends),
        **CLAIM_DONE,
    )
    if not automatic:
        queue_pledge_email(session, pledge, "action_required", error=message)
    return pledge


def charge_failed(
    session: Session,
    attempt: ChargeAttempt,
    error: PaymentError | PermanentPaymentError,
    *,
    now: datetime | None = None,
    grace: timedelta = GRACE_PERIOD,
) -> Pledge:
    """Record a provider failure of `attempt` by its class.

    Temporary: drop the claim and wait `retry_delay` before the next try (same key); after
    MAX_TEMPORARY_FAILURES the fan is asked for another card (action_required). Permanent: the
    pledge is dropped, its seats freed, the partner told by `pledge.dropped`.
    """
    now = now or utcnow()
    pledge = load_pledge(session, attempt.pledge_id)
    if pledge.status != "charging" or pledge.charge_attempts != attempt.attempt:
        return pledge
    if pledge.trip.status == "canceled":
        return _charge_failed_on_canceled_trip(session, pledge, error, now)
    if isinstance(error, PermanentPaymentError):
        transition(
            session,
            pledge,
            "dropped",
            actor="system",
            reason=f"payment failed: {error.code}",
            last_payment_error=error.message[:500],
            **CLAIM_DONE,
        )
        queue_pledge_email(session, pledge, "pledge_dropped")
        return pledge
    failures = pledge.provider_failures + 1
    if failures >= MAX_TEMPORARY_FAILURES:
        message = "We could not reach the payment provider to charge this card."
        return _needs_the_fan(session, pledge, "provider_unavailable", message, None, now, grace)
    release_claim(session, pledge, failures, str(error), now)
    return pledge


def _charge_failed_on_canceled_trip(session, pledge, error, now: datetime) -> Pledge:
    """A charge (or a look-up of one) failed on a canceled trip; either way it ends released.
    Permanent: the provider refused it, so no money moved. Temporary: the next try only looks
    the attempt up; after MAX_TEMPORARY_FAILURES nobody can tell whether money moved, so the
    pledge is released (nothing retries forever) with `last_payment_error` and the audit entry
    `pledge.charge_outcome_unknown` asking the partner to check the provider (a succeeded
    charge found there is refunded by hand, as after a failed automatic refund)."""
    failures = pledge.provider_failures + 1
    if isinstance(error, PermanentPaymentError):
        return _release_unpaid(
            session,
            pledge,
            f"trip canceled; payment failed: {error.code}",
            last_payment_error=error.message[:500],
        )
    if failures < MAX_TEMPORARY_FAILURES:
        release_claim(session, pledge, failures, str(error), now)
        return pledge
    message = f"trip canceled; the charge's outcome is unknown: {error}"[:500]
    released = _release_unpaid(
        session, pledge, "trip canceled", last_payment_error=message, provider_failures=failures
    )
    record(
        session,
        pledge.partner_id,
        "system",
        "pledge.charge_outcome_unknown",
        "pledge",
        pledge.id,
        {"key": current_attempt(pledge).key, "message": str(error)[:500]},
    )
    return released


@dataclass(frozen=True)
class CardReplacement:
    """What saving the fan's new card needs, read before the provider call."""

    pledge_id: str
    attempt: int  # the attempt the pledge is on now; the new card starts attempt + 1
    setup: CardSetup


def plan_card_replacement(
    session: Session, pledge_id: str, payment_method: str, *, now: datetime | None = None
) -> CardReplacement:
    """Check that the fan may give a new card now (action_required, within its grace period)
    and say how to save it. No provider call here: the caller saves it between transactions.
    """
    now = now or utcnow()
    pledge = load_pledge(session, pledge_id)
    if pledge.status != "action_required":
        raise IllegalTransition(f"a {pledge.status} pledge needs no new card")
    if pledge.grace_expires_at <= now:
        raise IllegalTransition("the time to update the card is over")
    setup = CardSetup(
        pledge_id=pledge.id,
        email=pledge.email,
        name=pledge.name,
        payment_method=payment_method,
        # The card is part of the key: a fan whose first new card is declined may try
        # another within the same attempt, and Stripe refuses a key reused with new params.
        key=f"pledge-{pledge.id}-setup-{pledge.charge_attempts + 1}-{payment_method}",
    )
    return CardReplacement(pledge.id, pledge.charge_attempts, setup)


def start_new_card_attempt(
    session: Session, plan: CardReplacement, card: SavedCard, *, now: datetime | None = None
) -> ChargeAttempt:
    """The new card is saved: action_required -> charging on attempt n + 1 (a new key, since
    it is a new card), and the charge job is queued. The charge itself is claimed by whoever
    gets to it first (this request, the job or the sweep)."""
    now = now or utcnow()
    pledge = load_pledge(session, plan.pledge_id)
    if pledge.status != "action_required" or pledge.charge_attempts != plan.attempt:
        raise IllegalTransition(f"the pledge changed meanwhile; it is now {pledge.status}")
    if pledge.grace_expires_at <= now:
        raise IllegalTransition("the time to update the card is over")
    transition(
        session,
        pledge,
        "charging",
        actor="fan",
        reason="card updated",
        charge_attempts=plan.attempt + 1,
        payment_method_ref=card.payment_method_ref,
        payment_customer_ref=card.customer_ref,
        payment_setup_ref=card.setup_ref,
        # A new card starts over: its failure is emailed, then retried on the schedule.
        card_retries=0,
        card_retry_at=None,
        **CLAIM_DONE,
    )
    schedule(session, "charge_pledge", pledge.id)
    return current_attempt(pledge)
