"""What the jobs do: thin wrappers that take ids and run a domain service (charges and refunds
are `domain.pledges.charging`'s use cases) or a domain step in a transaction of their own; and the
sweep. Each runs inside an app context and is safe to run twice or concurrently: the database
state (and the claim a charge or refund takes first) decides whether there is work left and
who does it. No transaction is open during any provider or partner-server call."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from functools import partial

from flask import current_app

from widget_server import services
from widget_server.domain.pledges import card_recovery, charging, trip_outcomes
from widget_server.domain.pledges.backlog import find_backlog, pledges_to_charge
from widget_server.extensions import db
from widget_server.models.types import utcnow
from widget_server.observability.metrics import SWEEPS, WEBHOOK_ATTEMPTS
from widget_server.webhooks import delivery as webhook_delivery

log = logging.getLogger(__name__)


def enqueue(task: str, *args) -> None:
    current_app.extensions["ridepledge.enqueue"](task, *args)


def charge_trip(trip_id: str) -> None:
    """Queue a charge for every pledge of a confirmed trip still waiting for one."""
    with db.transaction() as session:
        pledge_ids = pledges_to_charge(session, trip_id)
    for pledge_id in pledge_ids:
        enqueue("charge_pledge", pledge_id)


def charge_pledge(pledge_id: str) -> str:
    """The job of `domain.pledges.charging.charge_pledge`: returns its outcome."""
    return charging.charge_pledge(services.payments(), pledge_id)


def retry_card(pledge_id: str) -> str | bool:
    """An automatic retry of an action_required pledge's saved card, when it is due
    (`domain.pledges.card_recovery`): returns the charge's outcome, or False if not due."""
    with db.transaction() as session:
        if not card_recovery.begin_card_retry(session, pledge_id):
            return False
    return charge_pledge(pledge_id)


def refund_pledge(pledge_id: str) -> str:
    """The job of `domain.pledges.charging.refund_pledge`: returns its outcome."""
    return charging.refund_pledge(services.payments(), pledge_id)


def pay_operator(payout_id: str) -> str:
    """The job of `domain.operators.payouts.pay_operator`: returns its outcome."""
    from widget_server.domain.operators import payouts

    return payouts.pay_operator(services.payments(), payout_id)


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
    WEBHOOK_ATTEMPTS.labels(_webhook_outcome(outcome)).inc()
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
    from widget_server.domain.pledges import waitlist

    with db.transaction() as session:
        waitlist.refresh_waitlist(session, trip_id)


def _webhook_outcome(outcome) -> str:
    if outcome.succeeded:
        return "succeeded"
    if outcome.status_code is not None:
        return f"http_{outcome.status_code // 100}xx"
    return "not_sent" if (outcome.error or "").startswith("not sent") else "connection_error"


def minute_tick() -> dict | None:
    """The worker's periodic task: the sweep, once per minute across every worker on every
    host, and housekeeping once an hour. Returns the sweep's counts, or None when another worker
    had this minute."""
    from widget_server.jobs.periodic import run_once_per_period

    counts = run_once_per_period("sweep", 60, sweep)
    SWEEPS.labels("ran" if counts is not None else "skipped").inc()
    run_once_per_period("housekeeping", 3600, housekeeping)
    return counts


def housekeeping() -> dict[str, int]:
    """Delete what is only kept for a while and erase fan data past its retention."""
    from widget_server.domain import housekeeping as rules
    from widget_server.domain.privacy import erase_expired_fan_data

    settings = current_app.config["SETTINGS"]
    with db.transaction() as session:
        counts = rules.purge_expired(session, utcnow())
    if settings.fan_data_retention_days:
        with db.transaction() as session:
            counts["erased_pledges"] = erase_expired_fan_data(
                session, utcnow(), settings.fan_data_retention_days
            )
    log.info("housekeeping done", extra={"counts": counts})
    return counts


def _committed(step, item_id: str) -> bool:
    with db.transaction() as session:
        return step(session, item_id)


def _each(step, item_ids: list[str], outcomes: Counter, name: str) -> None:
    """Run `step` on every item and count what each did under `name_<outcome>`; one failing
    item (SMTP down, a bug) is logged, counted as `failures` and left for the next sweep
    instead of stopping the others."""
    for item_id in item_ids:
        try:
            outcome = step(item_id)
        except Exception:
            outcomes["failures"] += 1
            log.exception("sweep: %s(%s) failed; the next sweep retries", name, item_id)
            continue
        if outcome is True or outcome is None:
            outcomes[name] += 1
        elif outcome is not False:
            outcomes[f"{name}_{outcome}"] += 1


def sweep() -> dict[str, int]:
    """Do, right here, every piece of work the database says is due: deadlines, charges and
    refunds a lost, crashed or lagging job left behind, grace periods, trips whose event
    started, unsent emails; and queue a job for every webhook delivery that is due.
    `ridepledge settle` and the worker's periodic task both run this.

    Charges run before trips are completed, and completed trips are still charged, so a worker
    that was down over kick-off leaves no pledge unpaid. Returns counts of what it *did*:
    `charges_paid`, `charges_action_required`, `charges_retry`, `charges_dropped`,
    `charges_skipped` (another caller had it), `refunds_refunded`, ..., `card_retries_paid`
    (an automatic retry of a failed card, by its outcome), `card_reminders`, `failed_trips`,
    `completed_trips`, `payouts_paid` (`_waiting`, `_retry`, ...: operators' payouts),
    `dropped_pledges`, `emails`, `webhooks`, `failures`; `charges` and `refunds` count the
    provider calls made.
    """
    from widget_server.domain.pledges import waitlist
    from widget_server.notifications import pending_email_ids

    with db.transaction() as session:
        backlog = find_backlog(session)
        waitlists = waitlist.trips_to_refresh(session)
        emails = pending_email_ids(session)
        webhooks = webhook_delivery.due_deliveries(session, utcnow())
    outcomes: Counter = Counter()
    work = [
        (
            "failed_trips",
            partial(_committed, trip_outcomes.fail_trip_if_overdue),
            backlog.overdue_trips,
        ),
        ("charges", charge_pledge, backlog.to_charge),
        ("refunds", refund_pledge, backlog.to_refund),
        ("card_retries", retry_card, backlog.card_retries),
        (
            "card_reminders",
            partial(_committed, card_recovery.remind_fan),
            backlog.card_reminders,
        ),
        (
            "dropped_pledges",
            partial(_committed, trip_outcomes.drop_if_grace_expired),
            backlog.grace_expired,
        ),
        (
            "completed_trips",
            partial(_committed, trip_outcomes.complete_trip_if_done),
            backlog.finished_trips,
        ),
        ("payouts", pay_operator, backlog.to_pay),
        ("waitlists", refresh_waitlist, waitlists),
        ("emails", send_email, emails),
    ]
    for name, step, items in work:
        _each(step, items, outcomes, name)
    # Queued rather than sent here: one slow partner server must not hold up the sweep.
    for delivery_id in webhooks:
        try:
            enqueue("deliver_webhook", delivery_id)
        except Exception:  # the queue is down: the next sweep finds the delivery again
            outcomes["failures"] += 1
            log.exception("sweep: could not queue webhook delivery %s", delivery_id)
            continue
        outcomes["webhooks"] += 1
    # Provider calls made (a claim taken), whatever their outcome.
    for name in ("charges", "refunds"):
        outcomes[name] = sum(
            n
            for key, n in outcomes.items()
            if key.startswith(f"{name}_") and key != f"{name}_skipped"
        )
    keys = ("failed_trips", "completed_trips", "dropped_pledges", "emails", "webhooks", "failures")
    return {**dict.fromkeys(keys, 0), **outcomes}
