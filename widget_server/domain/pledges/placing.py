"""Placing a pledge, claiming a waitlist offer and giving a new card: the use cases that save
a card with the provider.

A card is saved between two transactions, never inside one: the first checks the request
(`planning.plan_pledge`, `charge_claims.plan_card_replacement`) and commits; the card is saved
with no lock held; the second takes the seats and records the pledge
(`recording.record_pledge`, which re-checks everything that may have changed meanwhile under
the trip's row lock) or starts the new charge attempt. A pledge on a confirmed trip is then
charged in the request (`charging.now_or_later`), its queued job as back-up. Views call these
with `widget_server.services.payments()`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from widget_server.domain.pledges import charge_claims, charging, planning, recording
from widget_server.domain.pledges.charging import PaymentContext
from widget_server.models import Partner, Pledge, WaitlistEntry


def place_pledge(
    context: PaymentContext,
    partner: Partner,
    trip_id: str,
    request: planning.PledgeRequest,
    *,
    secret: str,
    waitlist_offer: str | None = None,
    attempt: str | None = None,
) -> Pledge:
    """A fan's pledge from a request: checked, the card saved with no transaction open, the
    seats taken and the pledge committed; on a confirmed trip it is charged at once (its job
    is the back-up). Used by the widget JSON API, the no-JavaScript form and waitlist offers
    (`waitlist_offer`: the offer whose held seats it takes). `partner` may be detached (the
    widget API's per-process copy): only its id and seat cap are read. `secret`: SECRET_KEY,
    which checks the request's referral code. `attempt`: the digest of the fan's
    Idempotency-Key, which keys the card's saving at the provider and names the pledge it
    makes: a re-run of an attempt whose pledge was committed (the answer lost with its app
    host) returns that pledge, never a second one."""
    with context.transaction() as session:
        made = _made_by(session, attempt)
        if made is None:
            plan = planning.plan_pledge(
                session,
                partner,
                trip_id,
                request,
                waitlist_offer=waitlist_offer,
                secret=secret,
                attempt=attempt,
            )
    if made is not None:
        return _fresh(context, made)
    card = planning.save_card(context.provider, plan.card)  # no transaction open
    try:
        with context.transaction() as session:
            pledge = recording.record_pledge(session, plan, card)
            # The trip as the seat-taking UPDATE returned it (no query while the row is locked).
            charge_at_once = pledge.trip.status == "confirmed"
    except IntegrityError:
        with context.transaction() as session:
            made = _made_by(session, attempt)
        if made is None:
            raise
        return _fresh(context, made)  # a concurrent re-run of the attempt recorded it first
    if not charge_at_once:
        return pledge  # as committed
    charging.now_or_later(charging.charge_pledge, context, pledge.id)
    return _fresh(context, pledge.id)


def claim_offer(
    context: PaymentContext,
    partner: Partner,
    entry: WaitlistEntry,
    payment_method: str,
    *,
    secret: str,
) -> Pledge:
    """The fan takes the seats a waitlist offer holds for them: a pledge of the entry's seats
    at its stop, in its name, email and language, taking the held seats (refused with
    `OfferGone`, or the trip's reason, if the offer or the sale ended meanwhile)."""
    request = planning.PledgeRequest(
        stop_id=entry.stop_id,
        seats=entry.seats,
        name=entry.name,
        email=entry.email,
        payment_method=payment_method,
        locale=entry.locale,
        attribution={"utm_source": "waitlist"},
    )
    return place_pledge(
        context, partner, entry.trip_id, request, secret=secret, waitlist_offer=entry.id
    )


def replace_card(context: PaymentContext, pledge_id: str, payment_method: str) -> Pledge:
    """The fan gives a new card for an action_required pledge: checked, saved with no
    transaction open, a new charge attempt started and queued, and charged at once."""
    with context.transaction() as session:
        plan = charge_claims.plan_card_replacement(session, pledge_id, payment_method)
    card = planning.save_card(context.provider, plan.setup)  # no transaction open
    with context.transaction() as session:
        charge_claims.start_new_card_attempt(session, plan, card)
    charging.now_or_later(charging.charge_pledge, context, pledge_id)
    return _fresh(context, pledge_id)


def _made_by(session, attempt: str | None) -> str | None:
    """The id of the pledge the fan's attempt already made, if any."""
    if attempt is None:
        return None
    return session.scalar(select(Pledge.id).where(Pledge.attempt == attempt))


def _fresh(context: PaymentContext, pledge_id: str) -> Pledge:
    """The pledge as the charge left it."""
    with context.transaction() as session:
        return session.get(Pledge, pledge_id, populate_existing=True)
