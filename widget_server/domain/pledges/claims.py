"""Claims on a pledge's provider call (a charge or a refund).

Every provider call for a pledge (a charge or a refund) is made by exactly one caller: the
caller first *claims* the pledge with one conditional UPDATE (`begin_charge`, `begin_refund`),
which sets a lease (`claim_expires_at`) longer than the longest provider call. Whoever loses
the UPDATE (a duplicate job, the sweep, the request's own attempt) stands aside. The provider
is called outside any transaction with the key `pledge-<id>-charge-<attempt>` (or
`pledge-<id>-refund`), then `finish_*` records the outcome and drops the claim. A crash leaves
the claim to expire; the next caller resends the same key and the provider replays its first
answer: a pledge is never charged twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, joinedload

from widget_server.domain.errors import NotFound
from widget_server.models import Pledge
from widget_server.payments import (
    LONGEST_CALL,
)

# A claim outlives the longest provider call (client retries included), so a caller still
# waiting for its answer is never taken for a crashed one.
LEASE = 2 * LONGEST_CALL
# Temporary failures of one charge or refund before we stop retrying it: with the doubling
# delays below that is about two hours, well within the 24 h Stripe keeps an idempotency key.
MAX_TEMPORARY_FAILURES = 10
FIRST_RETRY_DELAY = timedelta(seconds=30)
LONGEST_RETRY_DELAY = timedelta(minutes=30)


# Built once (each charge reads its pledge twice): the pledge with its trip in the same query.
_PLEDGE_WITH_TRIP = (
    select(Pledge)
    .options(joinedload(Pledge.trip))
    .where(Pledge.id == bindparam("pledge_id"))
    .execution_options(populate_existing=True)
)


def load_pledge(session: Session, pledge_id: str) -> Pledge:
    # Fresh, with its trip (every rule here reads the trip's status).
    pledge = session.scalars(_PLEDGE_WITH_TRIP, {"pledge_id": pledge_id}).first()
    if pledge is None:
        raise NotFound(f"no pledge {pledge_id}")
    return pledge


def retry_delay(failures: int) -> timedelta:
    """How long to wait after the `failures`-th temporary failure: 30 s, 1 min, 2 min, ...
    at most 30 min."""
    return min(FIRST_RETRY_DELAY * 2 ** max(failures - 1, 0), LONGEST_RETRY_DELAY)


def claim_is_free(now: datetime, model=Pledge):
    """SQL: nobody holds the claim on the row (a pledge, or another `model` with the same
    `claim_expires_at` and `retry_at` columns: a payout) and its next try is due."""
    return or_(model.claim_expires_at.is_(None), model.claim_expires_at <= now) & or_(
        model.retry_at.is_(None), model.retry_at <= now
    )


def take_claim(session: Session, row, condition, now: datetime, **values) -> bool:
    """Take the claim on `row` (a pledge or a payout) if `condition` holds and the claim is
    free, setting `values` too: one UPDATE, so of any number of concurrent callers exactly one
    wins."""
    model = type(row)
    result = session.execute(
        update(model)
        .where(model.id == row.id, condition, claim_is_free(now, model))
        .values(claim_expires_at=now + LEASE, **values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(row)
    return result.rowcount == 1


CLAIM_DONE = {"claim_expires_at": None, "retry_at": None, "provider_failures": 0}


def release_claim(session, pledge, failures: int, message: str, now: datetime) -> None:
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
