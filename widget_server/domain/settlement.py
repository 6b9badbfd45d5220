"""Settlement: charging confirmed trips, refunds, deadlines, grace periods, cancellations.

A charge spans two transactions around the provider call (see jobs/tasks.py):
`begin_charge` marks the pledge `charging` and fixes the attempt number, the provider is called
with the key `pledge-<id>-charge-<attempt>`, and `finish_charge` records the outcome. A crash
anywhere leaves the pledge `charging` with the same attempt, so the retry sends the same key and
the provider replays its first answer: a pledge is never charged twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.errors import Conflict, IllegalTransition, NotFound
from widget_server.domain.notify import queue_pledge_email
from widget_server.domain.pledging import CardRefused, PaymentsUnavailable, transition
from widget_server.domain.work import schedule
from widget_server.models import Event, Pledge, Trip
from widget_server.models.types import utcnow
from widget_server.payments import CardDeclined, ChargeResult, PaymentError, PaymentProvider
from widget_server.webhooks.outbox import emit

GRACE_PERIOD = timedelta(hours=48)
# A pledge left `charging` this long is taken to be abandoned by a crashed job and retried.
STUCK_CHARGE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class ChargeAttempt:
    pledge_id: str
    attempt: int
    amount: int
    currency: str
    customer_ref: str
    payment_method_ref: str

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


def _pledge(session: Session, pledge_id: str) -> Pledge:
    pledge = session.get(Pledge, pledge_id, populate_existing=True)
    if pledge is None:
        raise NotFound(f"no pledge {pledge_id}")
    return pledge


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
    session: Session, pledge_id: str, *, retry_action_required: bool = False
) -> ChargeAttempt | None:
    """Mark the pledge `charging` and return what to charge, or None if there is nothing to do.

    A pledge already `charging` keeps its attempt number (a crashed or duplicate job resumes with
    the same idempotency key). `retry_action_required` starts a new attempt after the fan fixed
    the card.
    """
    pledge = _pledge(session, pledge_id)
    trip = pledge.trip
    if pledge.status == "charging":
        attempt = pledge.charge_attempts
    elif pledge.status == "pledged" and trip.status == "confirmed":
        attempt = pledge.charge_attempts + 1
        try:
            transition(session, pledge, "charging", actor="system", charge_attempts=attempt)
        except IllegalTransition:
            return None  # a concurrent job (or the sweep) began this charge first and owns it
    elif (
        pledge.status == "action_required"
        and retry_action_required
        and trip.status in ("confirmed", "completed")
    ):
        attempt = pledge.charge_attempts + 1
        transition(
            session,
            pledge,
            "charging",
            actor="fan",
            reason="card updated",
            charge_attempts=attempt,
        )
    else:
        return None
    assert pledge.charge_attempts == attempt  # an invariant; never run with -O  # nosec B101
    return current_attempt(pledge)


def finish_charge(
    session: Session,
    attempt: ChargeAttempt,
    result: ChargeResult,
    *,
    now: datetime | None = None,
    grace: timedelta = GRACE_PERIOD,
) -> Pledge:
    """Record the outcome of `attempt`. A stale or repeated outcome changes nothing."""
    now = now or utcnow()
    pledge = _pledge(session, attempt.pledge_id)
    if pledge.status != "charging" or pledge.charge_attempts != attempt.attempt:
        return pledge
    try:
        return _record_charge_outcome(session, pledge, result, now=now, grace=grace)
    except IllegalTransition:
        # Another finisher of this same attempt (a duplicate job, the sweep or the Stripe
        # webhook) recorded it between our read and our update: a repeated outcome.
        return _pledge(session, attempt.pledge_id)


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
        )
        if pledge.trip.status == "canceled":
            request_refund(session, pledge, now=now)
        else:
            queue_pledge_email(session, pledge, "pledge_paid")
        return pledge
    if pledge.trip.status == "canceled":
        return transition(session, pledge, "released", actor="system", reason="trip canceled")
    transition(
        session,
        pledge,
        "action_required",
        actor="system",
        reason=result.error_code,
        payment_intent_ref=result.intent_ref,
        last_payment_error=result.message,
        grace_expires_at=pledge.grace_expires_at or now + grace,
    )
    queue_pledge_email(session, pledge, "action_required", error=result.message)
    return pledge


def replace_card(
    session: Session,
    provider: PaymentProvider,
    pledge: Pledge,
    payment_method: str,
    *,
    now: datetime | None = None,
) -> ChargeAttempt:
    """The fan gives a new card for an action_required pledge within its grace period: save it
    and start a new charge attempt (the caller charges it; the sweep finishes it if that fails).
    """
    now = now or utcnow()
    if pledge.status != "action_required":
        raise IllegalTransition(f"a {pledge.status} pledge needs no new card")
    if pledge.grace_expires_at <= now:
        raise IllegalTransition("the time to update the card is over")
    try:
        card = provider.save_card(
            pledge_id=pledge.id,
            email=pledge.email,
            name=pledge.name,
            payment_method=payment_method,
            # The card is part of the key: a fan whose first new card is declined may try
            # another within the same attempt, and Stripe refuses a key reused with new params.
            key=f"pledge-{pledge.id}-setup-{pledge.charge_attempts + 1}-{payment_method}",
        )
    except CardDeclined as exc:
        raise CardRefused(exc.message, errors={"payment_method": [exc.message]}) from exc
    except PaymentError as exc:
        raise PaymentsUnavailable("we could not reach the payment provider; try again") from exc
    pledge.payment_method_ref = card.payment_method_ref
    pledge.payment_customer_ref = card.customer_ref
    pledge.payment_setup_ref = card.setup_ref
    session.flush()
    return begin_charge(session, pledge.id, retry_action_required=True)


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


def begin_refund(session: Session, pledge_id: str) -> RefundAttempt | None:
    pledge = _pledge(session, pledge_id)
    if pledge.status != "paid" or pledge.refund_requested_at is None:
        return None
    return RefundAttempt(pledge.id, pledge.payment_intent_ref, pledge.amount)


def finish_refund(session: Session, attempt: RefundAttempt, refund_ref: str) -> Pledge:
    pledge = _pledge(session, attempt.pledge_id)
    if pledge.status != "paid":
        return pledge
    transition(session, pledge, "refunded", actor="system", refund_ref=refund_ref)
    queue_pledge_email(session, pledge, "pledge_refunded")
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
    # `charging` pledges are settled by finish_charge, which sees the trip canceled.
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
    now = now or utcnow()
    ids = lambda query: list(session.scalars(query))  # noqa: E731
    confirmed = select(Trip.id).where(Trip.status == "confirmed")
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
                ((Pledge.status == "pledged") & Pledge.trip_id.in_(confirmed))
                | ((Pledge.status == "charging") & (Pledge.updated_at <= now - STUCK_CHARGE_AFTER))
            )
        ),
        to_refund=ids(
            select(Pledge.id).where(
                Pledge.status == "paid", Pledge.refund_requested_at.is_not(None)
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
