"""Settlement: charging confirmed trips, refunds, deadlines, grace periods, cancellations.

Every provider call for a pledge (a charge or a refund) is made by exactly one caller: the
caller first *claims* the pledge with one conditional UPDATE (`begin_charge`, `begin_refund`),
which sets a lease (`claim_expires_at`) longer than the longest provider call. Whoever loses
the UPDATE (a duplicate job, the sweep, the request's own attempt) stands aside. The provider
is called outside any transaction with the key `pledge-<id>-charge-<attempt>` (or
`pledge-<id>-refund`), then `finish_*` records the outcome and drops the claim. A crash leaves
the claim to expire; the next caller resends the same key and the provider replays its first
answer: a pledge is never charged twice.

What a provider failure does depends on whose it is (see docs/payments.md):
temporary (`PaymentError`): the claim is dropped and the next try waits (`retry_at`, doubling,
bounded by MAX_TEMPORARY_FAILURES, after which the fan is asked to act); the card's fault (a
declined or requires_action result): `action_required`, the fan is emailed; permanent
(`PermanentPaymentError`): the pledge is `dropped` (seats freed, audited, `pledge.dropped`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, joinedload

from widget_server.domain import waitlist
from widget_server.domain.audit import record
from widget_server.domain.errors import Conflict, IllegalTransition, NotFound
from widget_server.domain.notify import queue_pledge_email
from widget_server.domain.pledging import CardSetup, transition
from widget_server.domain.work import schedule
from widget_server.models import Event, Pledge, Trip
from widget_server.models.types import utcnow
from widget_server.payments import (
    LONGEST_CALL,
    ChargeResult,
    PaymentError,
    PermanentPaymentError,
    SavedCard,
)
from widget_server.webhooks.outbox import emit

GRACE_PERIOD = timedelta(hours=48)
# A claim outlives the longest provider call (client retries included), so a caller still
# waiting for its answer is never taken for a crashed one.
LEASE = 2 * LONGEST_CALL
# Temporary failures of one charge or refund before we stop retrying it: with the doubling
# delays below that is about two hours, well within the 24 h Stripe keeps an idempotency key.
MAX_TEMPORARY_FAILURES = 10
FIRST_RETRY_DELAY = timedelta(seconds=30)
LONGEST_RETRY_DELAY = timedelta(minutes=30)
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


@dataclass(frozen=True)
class RefundAttempt:
    pledge_id: str
    intent_ref: str
    amount: int

    @property
    def key(self) -> str:
        return f"pledge-{self.pledge_id}-refund"


# Built once (each charge reads its pledge twice): the pledge with its trip in the same query.
_PLEDGE_WITH_TRIP = (
    select(Pledge)
    .options(joinedload(Pledge.trip))
    .where(Pledge.id == bindparam("pledge_id"))
    .execution_options(populate_existing=True)
)


def _pledge(session: Session, pledge_id: str) -> Pledge:
    # Fresh, with its trip (every rule here reads the trip's status).
    pledge = session.scalars(_PLEDGE_WITH_TRIP, {"pledge_id": pledge_id}).first()
    if pledge is None:
        raise NotFound(f"no pledge {pledge_id}")
    return pledge


def retry_delay(failures: int) -> timedelta:
    """How long to wait after the `failures`-th temporary failure: 30 s, 1 min, 2 min, ...
    at most 30 min."""
    return min(FIRST_RETRY_DELAY * 2 ** max(failures - 1, 0), LONGEST_RETRY_DELAY)


def _claim_is_free(now: datetime):
    """SQL: nobody holds the pledge's claim and its next try is due."""
    return or_(Pledge.claim_expires_at.is_(None), Pledge.claim_expires_at <= now) & or_(
        Pledge.retry_at.is_(None), Pledge.retry_at <= now
    )


def _claim(session: Session, pledge: Pledge, condition, now: datetime) -> bool:
    """Take the pledge's claim if `condition` holds and the claim is free: one UPDATE, so of
    any number of concurrent callers exactly one wins."""
    result = session.execute(
        update(Pledge)
        .where(Pledge.id == pledge.id, condition, _claim_is_free(now))
        .values(claim_expires_at=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    session.refresh(pledge)
    return result.rowcount == 1


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
    pledge = _pledge(session, pledge_id)
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
        if _claim(session, pledge, same_attempt, now):
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
    pledge = _pledge(session, attempt.pledge_id)
    if pledge.status != "charging" or pledge.charge_attempts != attempt.attempt:
        return pledge
    if result is None:
        return _release_unpaid(session, pledge, "trip canceled")
    try:
        return _record_charge_outcome(session, pledge, result, now=now, grace=grace)
    except IllegalTransition:
        # Another finisher of this same attempt (a duplicate job, the sweep or the Stripe
        # webhook) recorded it between our read and our update: a repeated outcome.
        return _pledge(session, attempt.pledge_id)


_CLAIM_DONE = {"claim_expires_at": None, "retry_at": None, "provider_failures": 0}


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
            **_CLAIM_DONE,
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
            session, pledge, "released", actor="system", reason=reason, **{**_CLAIM_DONE, **changes}
        )
    except IllegalTransition:  # a concurrent finisher recorded this attempt first
        return _pledge(session, pledge.id)
    queue_pledge_email(session, pledge, "trip_canceled")
    return pledge


def _needs_the_fan(session, pledge, code, message, intent_ref, now, grace) -> Pledge:
    """charging -> action_required: the fan is emailed a link to give another card."""
    transition(
        session,
        pledge,
        "action_required",
        actor="system",
        reason=code,
        payment_intent_ref=intent_ref or pledge.payment_intent_ref,
        last_payment_error=message,
        grace_expires_at=pledge.grace_expires_at or now + grace,
        **_CLAIM_DONE,
    )
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
    pledge = _pledge(session, attempt.pledge_id)
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
            **_CLAIM_DONE,
        )
        queue_pledge_email(session, pledge, "pledge_dropped")
        return pledge
    failures = pledge.provider_failures + 1
    if failures >= MAX_TEMPORARY_FAILURES:
        message = "We could not reach the payment provider to charge this card."
        return _needs_the_fan(session, pledge, "provider_unavailable", message, None, now, grace)
    _release_claim(session, pledge, failures, str(error), now)
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
        _release_claim(session, pledge, failures, str(error), now)
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


def _release_claim(session, pledge, failures: int, message: str, now: datetime) -> None:
    session.execute(
        update(Pledge)
        .where(Pledge.id == pledge.id, Pledge.status == pledge.status)
        .values(
            claim_expires_at=None,
            retry_at=now + retry_delay(failures),
            provider_failures=failures,
            last_payment_error=message[:500],
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(pledge)


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
    pledge = _pledge(session, pledge_id)
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
    pledge = _pledge(session, plan.pledge_id)
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
        **_CLAIM_DONE,
    )
    schedule(session, "charge_pledge", pledge.id)
    return current_attempt(pledge)


def request_refund(session: Session, pledge: Pledge, *, now: datetime | None = None) -> None:
    """Ask for a paid pledge's money back; the refund job (and the sweep) carries it out."""
    if pledge.status != "paid":
        raise IllegalTransition(f"a {pledge.status} pledge has nothing to refund")
    if pledge.refund_requested_at is None:
        pledge.refund_requested_at = now or utcnow()
        session.flush()
    schedule(session, "refund_pledge", pledge.id)


def cancel_pledge(session: Session, pledge: Pledge, *, actor: str) -> Pledge:
    """The partner cancels a pledge: unpaid -> canceled (seats freed); paid -> refunded (the
    refund job carries it out). A pledge being charged right now must be retried shortly."""
    if pledge.status in ("pledged", "action_required"):
        transition(session, pledge, "canceled", actor=actor, reason="canceled by the partner")
        queue_pledge_email(session, pledge, "pledge_canceled")
    elif pledge.status == "paid":
        request_refund(session, pledge)
    elif pledge.status == "charging":
        raise Conflict("this pledge is being charged right now; try again in a few seconds")
    else:
        raise IllegalTransition(f"a {pledge.status} pledge cannot be canceled")
    return pledge


def begin_refund(
    session: Session, pledge_id: str, *, now: datetime | None = None
) -> RefundAttempt | None:
    """Claim a requested refund (as `begin_charge` claims a charge), or None if there is
    nothing to refund or another caller holds the claim."""
    now = now or utcnow()
    pledge = _pledge(session, pledge_id)
    if pledge.status != "paid" or pledge.refund_requested_at is None:
        return None
    wanted = (Pledge.status == "paid") & Pledge.refund_requested_at.is_not(None)
    if not _claim(session, pledge, wanted, now):
        return None
    return RefundAttempt(pledge.id, pledge.payment_intent_ref, pledge.amount)


def finish_refund(session: Session, attempt: RefundAttempt, refund_ref: str | None) -> Pledge:
    """paid -> refunded, once."""
    pledge = _pledge(session, attempt.pledge_id)
    if pledge.status != "paid":
        return pledge
    transition(session, pledge, "refunded", actor="system", refund_ref=refund_ref, **_CLAIM_DONE)
    queue_pledge_email(session, pledge, "pledge_refunded")
    return pledge


def refund_failed(
    session: Session,
    attempt: RefundAttempt,
    error: PaymentError | PermanentPaymentError,
    *,
    now: datetime | None = None,
) -> Pledge:
    """Record a provider failure of a refund by its class.

    Temporary: wait and retry (same key), at most MAX_TEMPORARY_FAILURES times. A charge the
    provider says is already refunded is `refunded`. Any other permanent failure, or too many
    temporary ones, ends the automatic refund: the pledge stays `paid`, the refund request is
    cleared, and `pledge.refund_failed` in the audit log and `last_payment_error` tell the
    partner to refund it by hand.
    """
    now = now or utcnow()
    pledge = _pledge(session, attempt.pledge_id)
    if pledge.status != "paid" or pledge.refund_requested_at is None:
        return pledge
    if isinstance(error, PermanentPaymentError) and error.code == "charge_already_refunded":
        return finish_refund(session, attempt, None)
    failures = pledge.provider_failures + 1
    if isinstance(error, PaymentError) and failures < MAX_TEMPORARY_FAILURES:
        _release_claim(session, pledge, failures, str(error), now)
        return pledge
    code = error.code if isinstance(error, PermanentPaymentError) else "provider_unavailable"
    session.execute(
        update(Pledge)
        .where(Pledge.id == pledge.id, Pledge.status == "paid")
        .values(refund_requested_at=None, last_payment_error=str(error)[:500], **_CLAIM_DONE)
        .execution_options(synchronize_session=False)
    )
    session.refresh(pledge)
    record(
        session,
        pledge.partner_id,
        "system",
        "pledge.refund_failed",
        "pledge",
        pledge.id,
        {"code": code, "message": str(error)[:500]},
    )
    return pledge


def fail_trip_if_overdue(session: Session, trip_id: str, *, now: datetime | None = None) -> bool:
    """open -> failed at the deadline below min_riders: every pledge released, nobody charged."""
    now = now or utcnow()
    result = session.execute(
        update(Trip)
        .where(Trip.id == trip_id, Trip.status == "open", Trip.pledge_deadline <= now)
        .values(status="failed", failed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    trip = session.get(Trip, trip_id, populate_existing=True)
    record(session, trip.partner_id, "system", "trip.failed", "trip", trip.id)
    for pledge in _pledges(session, trip_id, "pledged"):
        transition(session, pledge, "released", actor="system", reason="trip failed")
        queue_pledge_email(session, pledge, "trip_failed")
    waitlist.refresh_waitlist(session, trip_id, now=now)  # its offers end and the line closes
    session.refresh(trip)
    emit(session, trip.partner_id, "trip.failed", trip)
    return True


def cancel_trip(session: Session, trip: Trip, *, actor: str, now: datetime | None = None) -> Trip:
    """Cancel a trip before it completes: unpaid pledges are released, paid ones refunded."""
    now = now or utcnow()
    previous = trip.status
    result = session.execute(
        update(Trip)
        .where(Trip.id == trip.id, Trip.status.in_(("draft", "open", "confirmed")))
        .values(status="canceled", canceled_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(trip)
    if result.rowcount != 1:
        raise IllegalTransition(f"a {trip.status} trip cannot be canceled")
    record(session, trip.partner_id, actor, "trip.canceled", "trip", trip.id, {"from": previous})
    for pledge in _pledges(session, trip.id, "pledged", "action_required"):
        transition(session, pledge, "released", actor=actor, reason="trip canceled")
        queue_pledge_email(session, pledge, "trip_canceled")
    for pledge in _pledges(session, trip.id, "paid"):
        request_refund(session, pledge, now=now)
    # `charging` pledges end by themselves: finish_charge sees the trip canceled, and a
    # re-claim only asks the provider what became of the attempt (`begin_charge`).
    # Offers end now, not when they lapse: their held seats and claims go with the trip.
    waitlist.refresh_waitlist(session, trip.id, now=now)
    session.refresh(trip)
    emit(session, trip.partner_id, "trip.canceled", trip)
    return trip


def drop_if_grace_expired(session: Session, pledge_id: str, *, now: datetime | None = None) -> bool:
    """action_required past its grace period -> dropped, seats freed."""
    now = now or utcnow()
    pledge = _pledge(session, pledge_id)
    if pledge.status != "action_required" or pledge.grace_expires_at > now:
        return False
    transition(session, pledge, "dropped", actor="system", reason="grace period over")
    queue_pledge_email(session, pledge, "pledge_dropped")
    return True


def complete_trip_if_done(session: Session, trip_id: str, *, now: datetime | None = None) -> bool:
    """confirmed -> completed once its event has started."""
    now = now or utcnow()
    started = select(Event.id).where(Event.id == Trip.event_id, Event.starts_at <= now)
    result = session.execute(
        update(Trip)
        .where(Trip.id == trip_id, Trip.status == "confirmed", started.exists())
        .values(status="completed", completed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        trip = session.get(Trip, trip_id, populate_existing=True)
        record(session, trip.partner_id, "system", "trip.completed", "trip", trip.id)
    return result.rowcount == 1


def _pledges(session: Session, trip_id: str, *statuses: str) -> list[Pledge]:
    return list(
        session.scalars(
            select(Pledge)
            .where(Pledge.trip_id == trip_id, Pledge.status.in_(statuses))
            .order_by(Pledge.id)
        )
    )


@dataclass
class Backlog:
    """Work the database says is due; what a lost job would have done."""

    overdue_trips: list[str]
    finished_trips: list[str]
    to_charge: list[str]
    to_refund: list[str]
    grace_expired: list[str]


def find_backlog(session: Session, *, now: datetime | None = None) -> Backlog:
    """Everything due at `now`. Charges cover confirmed *and* completed trips, so a trip that
    completed while the worker was behind still has every pledge charged."""
    now = now or utcnow()
    ids = lambda query: list(session.scalars(query.order_by(None)))  # noqa: E731
    charged_trips = select(Trip.id).where(Trip.status.in_(CHARGED_TRIP_STATUSES))
    return Backlog(
        overdue_trips=ids(
            select(Trip.id).where(Trip.status == "open", Trip.pledge_deadline <= now)
        ),
        finished_trips=ids(
            select(Trip.id)
            .join(Event, Event.id == Trip.event_id)
            .where(Trip.status == "confirmed", Event.starts_at <= now)
        ),
        to_charge=ids(
            select(Pledge.id).where(
                ((Pledge.status == "pledged") & Pledge.trip_id.in_(charged_trips))
                | ((Pledge.status == "charging") & _claim_is_free(now))
            )
        ),
        to_refund=ids(
            select(Pledge.id).where(
                Pledge.status == "paid",
                Pledge.refund_requested_at.is_not(None),
                _claim_is_free(now),
            )
        ),
        grace_expired=ids(
            select(Pledge.id).where(
                Pledge.status == "action_required", Pledge.grace_expires_at <= now
            )
        ),
    )


def pledges_to_charge(session: Session, trip_id: str) -> list[str]:
    """The pledges of a confirmed trip still waiting for their charge."""
    return [p.id for p in _pledges(session, trip_id, "pledged")]
