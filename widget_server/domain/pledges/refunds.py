"""Refunds: a paid pledge's money back (asked for, claimed, recorded), and the partner
canceling one pledge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.errors import Conflict, IllegalTransition
from widget_server.domain.notify import queue_pledge_email
from widget_server.domain.pledges.claims import (
    CLAIM_DONE,
    MAX_TEMPORARY_FAILURES,
    load_pledge,
    release_claim,
    take_claim,
)
from widget_server.domain.pledges.transitions import transition
from widget_server.domain.work import schedule
from widget_server.models import Pledge
from widget_server.models.types import utcnow
from widget_server.payments import (
    PaymentError,
    PermanentPaymentError,
)


@dataclass(frozen=True)
class RefundAttempt:
    pledge_id: str
    intent_ref: str
    amount: int

    @property
    def key(self) -> str:
        return f"pledge-{self.pledge_id}-refund"


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
    pledge = load_pledge(session, pledge_id)
    if pledge.status != "paid" or pledge.refund_requested_at is None:
        return None
    wanted = (Pledge.status == "paid") & Pledge.refund_requested_at.is_not(None)
    if not take_claim(session, pledge, wanted, now):
        return None
    return RefundAttempt(pledge.id, pledge.payment_intent_ref, pledge.amount)


def finish_refund(session: Session, attempt: RefundAttempt, refund_ref: str | None) -> Pledge:
    """paid -> refunded, once."""
    pledge = load_pledge(session, attempt.pledge_id)
    if pledge.status != "paid":
        return pledge
    transition(session, pledge, "refunded", actor="system", refund_ref=refund_ref, **CLAIM_DONE)
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
    pledge = load_pledge(session, attempt.pledge_id)
    if pledge.status != "paid" or pledge.refund_requested_at is None:
        return pledge
    if isinstance(error, PermanentPaymentError) and error.code == "charge_already_refunded":
        return finish_refund(session, attempt, None)
    failures = pledge.provider_failures + 1
    if isinstance(error, PaymentError) and failures < MAX_TEMPORARY_FAILURES:
        release_claim(session, pledge, failures, str(error), now)
        return pledge
    code = error.code if isinstance(error, PermanentPaymentError) else "provider_unavailable"
    session.execute(
        update(Pledge)
        .where(Pledge.id == pledge.id, Pledge.status == "paid")
        .values(refund_requested_at=None, last_payment_error=str(error)[:500], **CLAIM_DONE)
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
