"""What the payment provider's own news changes: a second path to the outcomes the charge and
refund jobs normally record (a PaymentIntent that succeeded after our process died).

Each event is recorded by id, so a duplicate changes nothing, and applied only when it matches
what the pledge is waiting on, so late or out-of-order news changes nothing either.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from widget_server.domain.pledges import charge_claims, refunds
from widget_server.models import Pledge, StripeEventRecord
from widget_server.payments.stripe_events import ChargeNews, ProviderEvent, RefundNews


def record_provider_event(session: Session, event: ProviderEvent) -> bool:
    """Record `event` and apply its news; False (and nothing changed) if it was seen before.
    A duplicate delivered at the same moment fails the flush with an IntegrityError, which the
    caller answers as a duplicate too."""
    if session.get(StripeEventRecord, event.id) is not None:
        return False
    session.add(
        StripeEventRecord(
            id=event.id,
            type=event.type,
            object_ref=event.object_ref,
            stripe_created=event.created,
        )
    )
    session.flush()
    if isinstance(event.news, ChargeNews):
        _apply_charge(session, event.news)
    elif isinstance(event.news, RefundNews):
        _apply_refund(session, event.news)
    return True


def _apply_charge(session: Session, news: ChargeNews) -> None:
    """Finish the charge the pledge is waiting on, if the news is about that attempt."""
    pledge = session.get(Pledge, news.pledge_id)
    if pledge is None or pledge.status != "charging":
        return
    attempt = charge_claims.current_attempt(pledge)
    if news.attempt_key != attempt.key:
        return  # an earlier attempt's news: stale
    charge_claims.finish_charge(session, attempt, news.result)


def _apply_refund(session: Session, news: RefundNews) -> None:
    """Record a refund we asked for. The refund job may hold the claim meanwhile, which does
    not matter: whichever records it first wins and the other changes nothing."""
    pledge = session.scalar(
        select(Pledge).where(Pledge.payment_intent_ref == news.payment_intent_ref)
    )
    if pledge is not None and pledge.status == "paid" and pledge.refund_requested_at:
        attempt = refunds.RefundAttempt(pledge.id, pledge.payment_intent_ref, pledge.amount)
        refunds.finish_refund(session, attempt, news.refund_ref)
