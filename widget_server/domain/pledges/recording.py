"""Recording a planned pledge whose card is saved: the pledge row, its seats, the trip tipping
at its threshold.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from widget_server.domain.audit import record_at_once
from widget_server.domain.notify import queue_pledge_received, unqueue_email
from widget_server.domain.pledges.planning import (
    PledgePlan,
    PledgeRequest,
    fan_key_of,
    plan_pledge,
    save_card,
)
from widget_server.domain.pledges.seat_taking import (
    LOCKED_TRIP,
    ensure_still_selling,
    ensure_within_cap,
    take_seats,
)
from widget_server.domain.pledges.transitions import insert_status_change
from widget_server.domain.pledges.trip_outcomes import confirm_trip
from widget_server.domain.pledges.waitlist import link_pledge, take_held_seats
from widget_server.domain.pricing.add_ons import take_stock
from widget_server.domain.pricing.promos import redeem
from widget_server.domain.work import schedule
from widget_server.models import Partner, Pledge
from widget_server.models.pledges import boarding_lookup
from widget_server.models.types import utcnow
from widget_server.payments import PaymentProvider, SavedCard
from widget_server.webhooks.outbox import emit


def record_pledge(
    session: Session,
    plan: PledgePlan,
    card: SavedCard,
    *,
    actor: str = "fan",
    now: datetime | None = None,
) -> Pledge:
    """Take the seats and record the pledge whose card is saved; tip the trip at its
    threshold. On a trip that is already confirmed the pledge's charge job is queued.

    If the seats are gone since `plan_pledge`, the fan gets SoldOut and no money moved (the
    saved card is simply unused): no seat is ever held during a call to the provider.

    The hot write path, so its rows are written by Core INSERTs (the same rows the unit of work
    would write, at a fraction of the CPU) and the trip is not read again: its price, currency
    and stops are the plan's (they change only while it is a draft), and what other
    transactions change (seats, status, deadline) comes back from the seat-taking UPDATE.
    """
    now = now or utcnow()
    request, trip = plan.request, plan.trip
    fan = fan_key_of(request.email)
    pledge = _insert_pledge(session, plan, card, fan, actor, now)
    record_at_once(
        session,
        plan.partner_id,
        actor,
        "pledge.created",
        "pledge",
        pledge.id,
        {"seats": pledge.seats, "referred_by": pledge.referred_by},
    )
    # On a trip that is open when planned (the hot path: written before the seat lock).
    received = queue_pledge_received(session, pledge, trip.status)
    # The seats last: every pledge of a trip waits for this row lock until the one holding it
    # commits, so as little as possible happens between taking it and the commit (on a busy
    # trip the time the lock is held is what bounds pledges per second). If the seats are gone,
    # SoldOut rolls all of the above back. emit() comes after it so that every path locks the
    # trip row before the endpoint rows (no deadlock).
    if plan.waitlist_offer is not None:
        # A waitlist offer's held seats become this pledge's (the offer is claimed with them).
        locked = take_held_seats(session, trip, plan.waitlist_offer, now, LOCKED_TRIP)
        # The same re-check as `take_seats`, on the row as this transaction locked it: a
        # partner canceling (or the deadline passing) while the card was saved rolls it all
        # back, the "pledge received" email with it.
        ensure_still_selling(locked, now)
        link_pledge(session, plan.waitlist_offer, pledge.id)
    else:
        locked = take_seats(session, trip, request.seats, now)
    # Again now that this transaction holds the trip row: a pledge of the same fan racing this
    # one has committed by now (or waits for us), so the cap holds under concurrency too.
    ensure_within_cap(session, plan.max_seats_per_fan, trip, fan, request.seats, pledge.id)
    if plan.price.promo_code_id is not None:  # one use of the code, exact under concurrency
        redeem(session, plan.price.promo_code_id, trip, pledge.id, fan, now)
    take_stock(session, plan.price.add_ons)  # add-on units, exact under concurrency too
    if locked.has_webhooks:  # partners without webhooks skip emit() and its endpoint locks
        emit(session, plan.partner_id, "pledge.created", pledge)
    tipped = False
    if locked.status == "open" and locked.seats_pledged >= locked.min_riders:
        tipped = confirm_trip(session, trip, now=now)
    elif locked.status == "confirmed":
        schedule(session, "charge_pledge", pledge.id)
    if received is not None and (tipped or locked.status != "open"):
        # The trip confirmed with this pledge (or just before it): it is charged now, and the
        # charge's email is the fan's one email. Rare, so it may cost a statement under the lock.
        unqueue_email(session, received)
    return pledge


# The new pledge's row comes back from its INSERT (RETURNING every column), column defaults
# and server defaults included, so the object built from it has nothing left to load.
_INSERT_PLEDGE = insert(Pledge.__table__).returning(*Pledge.__table__.columns)


def _insert_pledge(
    session: Session, plan: PledgePlan, card: SavedCard, fan: str, actor: str, now: datetime
) -> Pledge:
    """Write the new pledge and its first status change (Core INSERTs), and return the pledge
    as a persistent object of the session, as if it had been loaded (no query): its trip is
    the plan's, its other relationships load when read. Only the columns with a value are
    written: every other column gets its default, never an explicit NULL."""
    request, trip, price = plan.request, plan.trip, plan.price
    values = dict(
        id=plan.pledge_id,
        partner_id=plan.partner_id,
        trip_id=trip.id,
        stop_id=request.stop_id,
        seats=request.seats,
        unit_amount=price.unit_amount,
        discount_amount=price.discount_amount,
        promo_code=price.promo_code,
        promo_code_id=price.promo_code_id,
        price_breakdown=price.as_json(),
        amount=price.amount,
        currency=trip.currency,
        name=request.name,
        email=request.email,
        email_key=fan,
        phone=request.phone,
        locale=request.locale,
        status="pledged",
        attribution=request.attribution,
        referred_by=plan.referred_by,
        attempt=plan.card.attempt,
        payment_method_ref=card.payment_method_ref,
        payment_customer_ref=card.customer_ref,
        payment_setup_ref=card.setup_ref,
        charge_attempts=0,
        provider_failures=0,
        boarding_ref=boarding_lookup(trip.id, plan.pledge_id),
        boarding_code_legacy=False,
        created_at=now,
        updated_at=utcnow(),
    )
    row = session.execute(
        _INSERT_PLEDGE, {key: value for key, value in values.items() if value is not None}
    ).one()
    insert_status_change(session, plan.pledge_id, None, "pledged", actor, now)
    pledge = Pledge(**row._asdict())
    set_committed_value(pledge, "trip", trip)
    make_transient_to_detached(pledge)
    session.add(pledge)
    return pledge


def create_pledge(
    session: Session,
    provider: PaymentProvider,
    partner: Partner,
    trip_id: str,
    request: PledgeRequest,
    *,
    actor: str = "fan",
    now: datetime | None = None,
    waitlist_offer: str | None = None,
    secret: str = "",
) -> Pledge:
    """plan_pledge, save_card and record_pledge in the caller's one session: for seeding
    (the demo) and tests. Requests use `placing.place_pledge`, which saves the card
    between two transactions so that no transaction is open during the provider call."""
    plan = plan_pledge(
        session, partner, trip_id, request, now=now, waitlist_offer=waitlist_offer, secret=secret
    )
    card = save_card(provider, plan.card)
    return record_pledge(session, plan, card, actor=actor, now=now)
