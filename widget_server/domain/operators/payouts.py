"""Paying bus companies: when a trip completes, its operator is owed the awarded quote, paid once
through the payment provider's transfer to the operator's connected account.

- `owe_payout` (in the transaction that completes the trip): one `Payout` per trip (the unique
  `trip_id` makes it one), the quote's amount and currency, `pending`; schedules `pay_operator`.
  A failed or canceled trip never completes, so it owes nothing; nor does a trip without an
  operator (never awarded, or the operator withdrew).
- `pay_operator` (the job, and the sweep): claim the payout with a lease as charges do
  (`begin_payout`), then, with no transaction open, check the connected account can receive a
  transfer and send it under the fixed key `payout-<id>-transfer`, then record `paid` with the
  transfer id and tell the operator (`payout.paid`). A crash between the transfer and the record
  leaves the claim to expire; the next try sends the same key and the provider answers the same
  transfer: never two.
- An operator without a connected account, or whose account cannot receive transfers yet, waits
  (`pending`, "connect Stripe to get paid"); connecting the account wakes its payouts.

See docs/payments.md ("Paying operators").
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from widget_server.domain.manifest import defuse_cell
from widget_server.domain.operators.news import tell_operator
from widget_server.domain.pledges.charging import PaymentContext
from widget_server.domain.pledges.claims import (
    MAX_TEMPORARY_FAILURES,
    claim_is_free,
    retry_delay,
    take_claim,
)
from widget_server.domain.work import schedule
from widget_server.models import Event, Operator, Partner, Payout, Quote, Trip
from widget_server.models.types import rfc3339, utcnow
from widget_server.payments import PaymentError, PermanentPaymentError

# How long a payout waits before it looks again at an account that cannot take a transfer yet
# (onboarding unfinished, the platform's balance short). Stripe keeps a refused answer under
# its key for 24 hours, so a refusal sent to Stripe clears within a day of retries.
WAIT_FOR_ACCOUNT = timedelta(hours=1)
# Refusals that mean "not yet", not "never": the payout waits and tries again.
NOT_YET = ("insufficient_capabilities_for_transfer", "balance_insufficient")
NOT_READY = "the operator's Stripe account cannot receive transfers yet"

CSV_COLUMNS = (
    "payout_id",
    "trip_id",
    "partner",
    "event",
    "event_date",
    "origin",
    "amount",
    "currency",
    "status",
    "transfer_id",
    "paid_at",
)


@dataclass(frozen=True)
class TransferAttempt:
    """One claimed try at paying a payout."""

    payout_id: str
    trip_id: str
    amount: int
    currency: str
    destination: str

    @property
    def key(self) -> str:
        return f"payout-{self.payout_id}-transfer"


def owe_payout(session: Session, trip: Trip, *, now: datetime | None = None) -> Payout | None:
    """The payout a trip that just completed owes its operator (its awarded quote), once; None
    when the trip has no operator or no quote (never awarded, or the operator withdrew)."""
    if trip.operator_id is None or trip.quote_id is None:
        return None
    quote = session.get(Quote, trip.quote_id)
    if quote is None or quote.operator_id != trip.operator_id:
        return None
    existing = session.scalar(select(Payout).where(Payout.trip_id == trip.id))
    if existing is not None:
        return existing
    payout = Payout(
        trip_id=trip.id,
        operator_id=trip.operator_id,
        amount=quote.amount,
        currency=quote.currency,
        status="pending",
        attempt=0,
        created_at=now or utcnow(),
    )
    session.add(payout)
    session.flush()
    schedule(session, "pay_operator", payout.id)
    return payout


def pay_operator(context: PaymentContext, payout_id: str) -> str:
    """Pay one payout, at most once whatever happens. Returns `paid`, `waiting` (no account
    that can receive it yet), `retry` (a temporary failure), `failed`, `canceled` (the trip
    owes nothing after all) or `skipped` (nothing to pay, or another caller holds the claim)."""
    with context.transaction() as session:
        attempt, outcome = begin_payout(session, payout_id)
    if attempt is None:
        return outcome
    try:
        # Outside any transaction: no lock is held while the provider answers.
        account = context.provider.connected_account(attempt.destination)
        if not account.transfers_enabled:
            raise PermanentPaymentError(NOT_YET[0], NOT_READY)
        transfer_id = context.provider.transfer(
            amount=attempt.amount,
            currency=attempt.currency,
            destination=attempt.destination,
            idempotency_key=attempt.key,
            metadata={"payout_id": attempt.payout_id, "trip_id": attempt.trip_id},
        )
    except (PaymentError, PermanentPaymentError) as exc:
        with context.transaction() as session:
            return payout_failed(session, attempt, exc)
    with context.transaction() as session:
        return finish_payout(session, attempt, transfer_id)


def begin_payout(
    session: Session, payout_id: str, *, now: datetime | None = None
) -> tuple[TransferAttempt | None, str]:
    """Claim a pending payout for one try (lease as for charges): the attempt, or None and why
    not (`skipped`, `waiting` without a connected account, `canceled`)."""
    now = now or utcnow()
    payout = session.get(Payout, payout_id, populate_existing=True)
    if payout is None or payout.status != "pending":
        return None, "skipped"
    trip = session.get(Trip, payout.trip_id)
    if trip.status != "completed" or trip.operator_id != payout.operator_id:
        payout.status = "canceled"
        payout.claim_expires_at = None
        session.flush()
        return None, "canceled"
    operator = session.get(Operator, payout.operator_id)
    if not operator.stripe_account_id:
        return None, "waiting"
    pending = Payout.status == "pending"
    if not take_claim(session, payout, pending, now, attempt=Payout.attempt + 1):
        return None, "skipped"
    attempt = TransferAttempt(
        payout.id, trip.id, payout.amount, payout.currency, operator.stripe_account_id
    )
    return attempt, "claimed"


def finish_payout(session: Session, attempt: TransferAttempt, transfer_id: str) -> str:
    """pending -> paid with the transfer id, once; tells the operator."""
    now = utcnow()
    result = session.execute(
        update(Payout)
        .where(Payout.id == attempt.payout_id, Payout.status == "pending")
        .values(
            status="paid",
            transfer_id=transfer_id,
            paid_at=now,
            claim_expires_at=None,
            retry_at=None,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return "skipped"
    payout = session.get(Payout, attempt.payout_id, populate_existing=True)
    tell_operator(session, payout.operator_id, "payout.paid", payout_news(session, payout))
    return "paid"


def payout_failed(
    session: Session,
    attempt: TransferAttempt,
    error: PaymentError | PermanentPaymentError,
    *,
    now: datetime | None = None,
) -> str:
    """Record a failed try by its class: not yet (the account or the balance is not ready):
    wait an hour; temporary: retry with backoff and the same key, at most
    MAX_TEMPORARY_FAILURES times in a row; anything else, or too many: `failed`, for the
    service's staff (the error is on the payout)."""
    now = now or utcnow()
    payout = session.get(Payout, attempt.payout_id, populate_existing=True)
    if payout is None or payout.status != "pending":
        return "skipped"
    payout.claim_expires_at = None
    payout.last_error = str(error)[:500]
    not_yet = isinstance(error, PermanentPaymentError) and error.code in NOT_YET
    failures = (payout.provider_failures or 0) + (0 if not_yet else 1)
    payout.provider_failures = failures
    if not_yet:
        payout.retry_at = now + WAIT_FOR_ACCOUNT
        outcome = "waiting"
    elif isinstance(error, PaymentError) and failures < MAX_TEMPORARY_FAILURES:
        payout.retry_at = now + retry_delay(failures)
        outcome = "retry"
    else:
        payout.status = "failed"
        payout.retry_at = None
        outcome = "failed"
    session.flush()
    return outcome


def connected(session: Session, operator: Operator) -> None:
    """The operator's account is connected (or became able to receive transfers): its
    waiting payouts are due now."""
    payouts = session.scalars(
        select(Payout).where(Payout.operator_id == operator.id, Payout.status == "pending")
    ).all()
    for payout in payouts:
        payout.retry_at = None
        schedule(session, "pay_operator", payout.id)
    session.flush()


def payouts_to_pay(session: Session, *, now: datetime | None = None) -> list[str]:
    """Pending payouts of operators with a connected account, claim free and due: what a lost
    job left (for the sweep)."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(Payout.id)
            .join(Operator, Operator.id == Payout.operator_id)
            .where(
                Payout.status == "pending",
                Operator.stripe_account_id.is_not(None),
                claim_is_free(now, Payout),
            )
        )
    )


# Reading payouts: the operator's list, totals and statements --------------------------------


def payouts_query(operator_id: str, *, trip_id: str | None = None):
    """The operator's payouts (of one trip when `trip_id` is given): nobody else's."""
    query = select(Payout).where(Payout.operator_id == operator_id)
    if trip_id is not None:
        query = query.where(Payout.trip_id == trip_id)
    return query


@dataclass(frozen=True)
class StatementLine:
    payout: Payout
    trip: Trip
    partner_name: str
    event_title: str
    event_starts_at: datetime
    event_timezone: str


def statement(
    session: Session, operator_id: str, *, trip_id: str | None = None
) -> list[StatementLine]:
    """The operator's payouts, newest first (of one trip when `trip_id` is given), each with
    what a statement names: the trip, its partner and its event."""
    query = (
        select(Payout, Trip, Partner.name, Event.title, Event.starts_at, Event.timezone)
        .join(Trip, Trip.id == Payout.trip_id)
        .join(Partner, Partner.id == Trip.partner_id)
        .join(Event, Event.id == Trip.event_id)
        .where(Payout.operator_id == operator_id)
        .order_by(Payout.id.desc())
    )
    if trip_id is not None:
        query = query.where(Payout.trip_id == trip_id)
    return [StatementLine(*row) for row in session.execute(query)]


def totals(lines: list[StatementLine]) -> dict[tuple[str, str], int]:
    """Sums by (currency, status): what was paid and what is owed, never mixing currencies."""
    sums: dict[tuple[str, str], int] = {}
    for line in lines:
        key = (line.payout.currency, line.payout.status)
        sums[key] = sums.get(key, 0) + line.payout.amount
    return sums


def statement_csv(lines: list[StatementLine]) -> str:
    """The statement as CSV, one row per payout; amounts in minor units, times in UTC, every
    text cell defused against spreadsheet formulas."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        payout = line.payout
        row = (
            payout.id,
            payout.trip_id,
            line.partner_name,
            line.event_title,
            line.event_starts_at.date().isoformat(),
            line.trip.origin_name,
            payout.amount,
            payout.currency,
            payout.status,
            payout.transfer_id or "",
            rfc3339(payout.paid_at) if payout.paid_at else "",
        )
        writer.writerow([defuse_cell(cell) for cell in row])
    return out.getvalue()


def payout_news(session: Session, payout: Payout) -> dict:
    """What the operator is told about a payout (`payout.paid`): the payout and what the
    email names (partner, event, origin, amount)."""
    trip = session.get(Trip, payout.trip_id)
    partner = session.get(Partner, trip.partner_id)
    event = session.get(Event, trip.event_id)
    return {
        "id": payout.id,
        "object": "payout",
        "trip_id": payout.trip_id,
        "amount": payout.amount,
        "currency": payout.currency,
        "status": payout.status,
        "transfer_id": payout.transfer_id,
        "created_at": rfc3339(payout.created_at),
        "paid_at": rfc3339(payout.paid_at) if payout.paid_at else None,
        "partner": {"slug": partner.slug, "name": partner.name},
        "event": {"id": event.id, "title": event.title},
        "origin": {"name": trip.origin_name},
    }
