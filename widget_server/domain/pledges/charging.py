"""Charging and refunding a pledge: the use cases that talk to the payment provider.

Each runs its own short transactions through `PaymentContext.transaction` and calls the
provider between them, never inside one: claim (`charge_claims.begin_charge` /
`begin_refund`), call the provider with the attempt's fixed idempotency key, record the
outcome (`finish_*`, or `*_failed` by the error's class). Whoever starts one (the request of
a pledge on a confirmed trip or of a new card, the queued job, the sweep), the claim makes it
the only caller talking to the provider; the others stand aside (`skipped`). Safe to run any
number of times, concurrently too. See docs/payments.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from widget_server.domain.errors import NotFound
from widget_server.domain.pledges import charge_claims, refunds
from widget_server.models import Pledge
from widget_server.payments import PaymentError, PaymentProvider, PermanentPaymentError

log = logging.getLogger(__name__)


def _not_counted(outcome: str) -> None:
    """The default `PaymentContext.count_charge`: nobody counts."""


@dataclass(frozen=True)
class PaymentContext:
    """What a use case that talks to the provider runs with, given by its caller (a view or a
    job, through `widget_server.services.payments()`; a test may build its own).

    `transaction()`: a context manager yielding a Session that commits when the block ends
    (and only then hands over the jobs the domain scheduled), rolls back on error.
    `provider`: the payment provider. `count_charge(outcome)`: told the outcome of every
    charge call made (`paid`, `action_required`, `released`, `provider_unavailable`, ...), for
    the metrics."""

    transaction: Callable[[], AbstractContextManager[Session]]
    provider: PaymentProvider
    count_charge: Callable[[str], None] = _not_counted


def charge_pledge(context: PaymentContext, pledge_id: str) -> str:
    """Charge one pledge off-session, at most once whatever happens. Returns what happened:
    the pledge's new status (`paid`, `action_required`, `dropped`, `released`), `retry` (a
    temporary failure, tried again later), or `skipped` (nothing to charge, or another caller
    holds the claim). On a canceled trip a pledge left `charging` is never charged again: the
    provider is asked what became of its attempt, and the pledge ends (`released`, or `paid`
    and refunded if the charge had gone through)."""
    with context.transaction() as session:
        attempt = charge_claims.begin_charge(session, pledge_id)
    if attempt is None:
        return "skipped"
    try:
        # Outside any transaction: no lock is held while the provider answers.
        if attempt.look_up_only:
            result = context.provider.find_charge(
                pledge_id=attempt.pledge_id, customer_ref=attempt.customer_ref, key=attempt.key
            )
        else:
            result = context.provider.charge(
                pledge_id=attempt.pledge_id,
                amount=attempt.amount,
                currency=attempt.currency,
                customer_ref=attempt.customer_ref,
                payment_method_ref=attempt.payment_method_ref,
                key=attempt.key,
            )
    except (PaymentError, PermanentPaymentError) as exc:
        log.warning("charge %s failed: %s: %s", attempt.key, type(exc).__name__, exc)
        context.count_charge(
            "provider_unavailable" if isinstance(exc, PaymentError) else "provider_refused"
        )
        with context.transaction() as session:
            pledge = charge_claims.charge_failed(session, attempt, exc)
        return "retry" if pledge.status == "charging" else pledge.status
    with context.transaction() as session:
        status = charge_claims.finish_charge(session, attempt, result).status
    context.count_charge(status)
    return status


def refund_pledge(context: PaymentContext, pledge_id: str) -> str:
    """Refund a paid pledge whose refund was requested, once. Returns what happened: the
    pledge's status (`refunded`; `paid` when the refund failed for good), `retry` or
    `skipped`."""
    with context.transaction() as session:
        attempt = refunds.begin_refund(session, pledge_id)
    if attempt is None:
        return "skipped"
    try:
        refund_ref = context.provider.refund(
            pledge_id=attempt.pledge_id,
            intent_ref=attempt.intent_ref,
            amount=attempt.amount,
            key=attempt.key,
        )
    except (PaymentError, PermanentPaymentError) as exc:
        log.warning("refund %s failed: %s: %s", attempt.key, type(exc).__name__, exc)
        with context.transaction() as session:
            pledge = refunds.refund_failed(session, attempt, exc)
        return "retry" if pledge.refund_requested_at is not None else pledge.status
    with context.transaction() as session:
        return refunds.finish_refund(session, attempt, refund_ref).status


def now_or_later(work: Callable[[PaymentContext, str], str], context, pledge_id: str) -> str:
    """Run a money use case (`charge_pledge`, `refund_pledge`) in the request, so the fan or
    partner sees the outcome at once. Its data is committed already and its job queued: if
    the queued job or the sweep got there first, this one stands aside; any failure here is
    logged and left to them (a temporary provider failure is recorded and retried later with
    the same key). Returns the outcome, `failed` for an unexpected error."""
    try:
        return work(context, pledge_id)
    except Exception:  # the data is committed; the job and the sweep finish it
        log.exception("%s(%s) in the request failed; the sweep retries", work.__name__, pledge_id)
        return "failed"


def cancel_pledge(context: PaymentContext, pledge_id: str, *, actor: str) -> Pledge:
    """The partner cancels a pledge (`refunds.cancel_pledge`): an unpaid one ends at once; a
    paid one is refunded, in this request if the provider answers (its job is the back-up).
    Returns the pledge as it is afterwards (`refunded`, or still `paid` while the refund
    waits)."""
    with context.transaction() as session:
        pledge = refunds.cancel_pledge(session, _pledge(session, pledge_id), actor=actor)
        refund = pledge.status == "paid"
    if refund:
        now_or_later(refund_pledge, context, pledge_id)
    with context.transaction() as session:
        return session.get(Pledge, pledge_id, populate_existing=True)


def _pledge(session: Session, pledge_id: str) -> Pledge:
    pledge = session.get(Pledge, pledge_id)
    if pledge is None:
        raise NotFound(f"no pledge {pledge_id}")
    return pledge
