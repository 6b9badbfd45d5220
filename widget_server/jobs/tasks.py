"""What the jobs do. Each runs inside an app context, commits its own short transactions, and
is safe to run twice or concurrently: the database state decides whether there is work left."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from flask import current_app

from widget_server.domain import settlement
from widget_server.extensions import db
from widget_server.models.types import utcnow
from widget_server.payments import PaymentError
from widget_server.webhooks import delivery as webhook_delivery

log = logging.getLogger(__name__)


def provider():
    return current_app.extensions["ridepledge.payments"]


def enqueue(task: str, *args) -> None:
    current_app.extensions["ridepledge.enqueue"](task, *args)


def now_or_later(work, pledge_id: str) -> None:
    """Run a money job (`charge_pledge`, `refund_pledge`) in the request, so the fan or partner
    sees the outcome at once; if the provider is unreachable, the queued job and the sweep
    finish it later with the same idempotency key."""
    try:
        work(pledge_id)
    except PaymentError:
        log.warning("%s(%s) deferred: payment provider unavailable", work.__name__, pledge_id)


def charge_trip(trip_id: str) -> None:
    """Queue a charge for every pledge of a confirmed trip still waiting for one."""
    with db.transaction() as session:
        pledge_ids = settlement.pledges_to_charge(session, trip_id)
    for pledge_id in pledge_ids:
        enqueue("charge_pledge", pledge_id)


def charge_pledge(pledge_id: str, retry_action_required: bool = False) -> str | None:
    """Charge one pledge off-session, at most once whatever happens. Returns its status."""
    with db.transaction() as session:
        attempt = settlement.begin_charge(
            session, pledge_id, retry_action_required=retry_action_required
        )
    if attempt is None:
        return None
    # Outside any transaction: no lock is held while the provider answers.
    result = provider().charge(
        pledge_id=attempt.pledge_id,
        amount=attempt.amount,
        currency=attempt.currency,
        customer_ref=attempt.customer_ref,
        payment_method_ref=attempt.payment_method_ref,
        key=attempt.key,
    )
    with db.transaction() as session:
        return settlement.finish_charge(session, attempt, result).status


def refund_pledge(pledge_id: str) -> None:
    """Refund a paid pledge whose refund was requested, once."""
    with db.transaction() as session:
        attempt = settlement.begin_refund(session, pledge_id)
    if attempt is None:
        return
    refund_ref = provider().refund(
        pledge_id=attempt.pledge_id,
        intent_ref=attempt.intent_ref,
        amount=attempt.amount,
        key=attempt.key,
    )
    with db.transaction() as session:
        settlement.finish_refund(session, attempt, refund_ref)


def send_email(email_id: str) -> None:
    from widget_server.notifications import send_email as deliver

    deliver(email_id)


def deliver_webhook(delivery_id: str, now: datetime | None = None) -> str | None:
    """One attempt of a webhook delivery, if it is due and first in line for its endpoint.
    Returns the delivery's status afterwards, or None if there was nothing to do. `now` lets
    tests stand at another time; the worker always passes nothing."""
    settings = current_app.config["SETTINGS"]
    with db.transaction() as session:
        claim = webhook_delivery.claim(
            session, delivery_id, app_secret_key=settings.secret_key, now=now or utcnow()
        )
    if claim is None:
        return None
    # Outside any transaction: no lock is held while the partner's server answers.
    outcome = webhook_delivery.send(claim, allow_loopback=settings.webhooks_allow_loopback)
    with db.transaction() as session:
        finished = webhook_delivery.finish(session, claim, outcome, now=now or utcnow())
    if finished is None:
        return None
    if finished.status == "pending":
        current_app.extensions["ridepledge.enqueue_at"](
            "deliver_webhook", finished.next_attempt_at, delivery_id
        )
    return finished.status


def refresh_waitlist(trip_id: str) -> None:
    """Offer freed seats to the waitlist, expire lapsed offers, close it when pledges close."""
    from widget_server.domain import waitlist

    with db.transaction() as session:
        waitlist.refresh_waitlist(session, trip_id)


def _committed(step, item_id: str) -> None:
    with db.transaction() as session:
        step(session, item_id)


def _each(step, item_ids: list[str]) -> int:
    """Run `step` on every item; one failing item (provider down, SMTP down, a bug) is logged
    and left for the next sweep instead of stopping the others. Returns how many failed."""
    failures = 0
    for item_id in item_ids:
        try:
            step(item_id)
        except PaymentError:
            failures += 1
            log.warning("sweep: %s(%s) failed; the next sweep retries", _name(step), item_id)
        except Exception:
            failures += 1
            log.exception("sweep: %s(%s) failed; the next sweep retries", _name(step), item_id)
    return failures


def _name(step) -> str:
    return step.args[0].__name__ if isinstance(step, partial) else step.__name__


def sweep() -> dict[str, int]:
    """Do, right here, every piece of work the database says is due: deadlines, grace periods,
    charges and refunds a lost or crashed job left behind, unsent emails; and queue a job for
    every webhook delivery that is due. `ridepledge settle` and the worker's periodic task both
    run this. Returns counts of what it found."""
    from widget_server.domain import waitlist
    from widget_server.notifications import pending_email_ids

    with db.transaction() as session:
        backlog = settlement.find_backlog(session)
        waitlists = waitlist.trips_to_refresh(session)
        emails = pending_email_ids(session)
        webhooks = webhook_delivery.due_deliveries(session, utcnow())
    work = [
        (partial(_committed, settlement.fail_trip_if_overdue), backlog.overdue_trips),
        (partial(_committed, settlement.complete_trip_if_done), backlog.finished_trips),
        (partial(_committed, settlement.drop_if_grace_expired), backlog.grace_expired),
        (charge_pledge, backlog.to_charge),
        (refund_pledge, backlog.to_refund),
        (refresh_waitlist, waitlists),
        (send_email, emails),
    ]
    failures = sum(_each(step, items) for step, items in work)
    # Queued rather than sent here: one slow partner server must not hold up the sweep.
    for delivery_id in webhooks:
        enqueue("deliver_webhook", delivery_id)
    return {
        "failed_trips": len(backlog.overdue_trips),
        "completed_trips": len(backlog.finished_trips),
        "dropped_pledges": len(backlog.grace_expired),
        "charges": len(backlog.to_charge),
        "refunds": len(backlog.to_refund),
        "emails": len(emails),
        "waitlists": len(waitlists),
        "failures": failures,
        "webhooks": len(webhooks),
    }
