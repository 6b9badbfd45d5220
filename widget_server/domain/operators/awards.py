"""Awarding a quote (which makes the trip) and an operator giving an awarded trip back (which
reopens the request). The requests and quotes themselves: `marketplace`.

Plain Python over a Session: flushes, never commits, raises domain errors.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from widget_server.domain import catalog
from widget_server.domain.audit import record
from widget_server.domain.errors import Conflict, IllegalTransition, NotFound, ValidationFailed
from widget_server.domain.notify import queue_news_email
from widget_server.domain.operators.marketplace import (
    invited_operator_ids,
    operator_of,
    request_of,
    tell_invited,
)
from widget_server.domain.operators.news import tell_operator
from widget_server.domain.operators.operators import (
    INSURANCE_ENDS_BEFORE,
    INSURANCE_EXPIRED,
    MISSING_USDOT,
    NO_INSURANCE,
    award_blockers,
)
from widget_server.models import AdminUser, Event, Operator, Quote, Trip, TripRequest
from widget_server.models.types import utcnow
from widget_server.representations import OperatorTripRequestSchema, TripSchema
from widget_server.webhooks.outbox import emit

# Partner admins who hear that an operator withdrew (they can act on it).
ALERTED_ROLES = ("owner", "editor")
# The award's draft trip closes pledges this long before departure (the partner may change it).
PLEDGE_WINDOW_BEFORE_DEPARTURE = timedelta(hours=48)
# What each of `award_blockers`' codes means, in the words of a refused award (409 detail).
BLOCKER_TEXT = {
    MISSING_USDOT: "the operator has no USDOT number",
    NO_INSURANCE: "the operator's insurance is not on file",
    INSURANCE_EXPIRED: "the operator's insurance has expired",
    INSURANCE_ENDS_BEFORE: "the operator's insurance ends before the trip",
}
QUOTE_EXPIRED = "this quote has expired"


# --- awarding ----------------------------------------------------------------------------------


def suggested_min_riders(amount: int, unit_amount: int, capacity: int) -> int:
    """The break-even threshold: the quote divided by the seat price, rounded up, at most the
    capacity (a bus whose seats cannot pay for it runs full)."""
    if unit_amount <= 0:
        return capacity
    return max(1, min(capacity, math.ceil(amount / unit_amount)))


def award_refusal(quote: Quote, *, now: datetime) -> str | None:
    """Why this quote cannot be awarded now (expired, not open, the operator's compliance), or
    None. The console shows it beside the quote; `award_quote` refuses with it (409)."""
    if quote.status != "open":
        return f"this quote is {quote.status}"
    if quote.valid_until <= now:
        return QUOTE_EXPIRED
    blockers = award_blockers(operator_of(quote), request_of(quote).departs_at.date())
    if blockers:
        return "; ".join(BLOCKER_TEXT.get(code, code) for code in blockers)
    return None


def award_quote(
    session: Session,
    trip_request: TripRequest,
    quote_id: str,
    *,
    unit_amount: int,
    min_riders: int | None = None,
    actor: str,
    now: datetime | None = None,
) -> Trip:
    """Award the quote: the request becomes `awarded` (once: a second award, even a
    concurrent one, is a 409), the draft trip is made with the operator, the quote's seats as
    capacity and the break-even `min_riders` unless given; the winner and the others are told.
    A request reopened after an operator withdrew gives its existing trip the new operator."""
    now = now or utcnow()
    # The request's row, then the quote's: two awards of one request take their locks in the
    # same order, so the second waits and then finds it awarded (409), never a deadlock.
    session.get(TripRequest, trip_request.id, with_for_update=True, populate_existing=True)
    quote = session.get(Quote, quote_id, with_for_update=True, populate_existing=True)
    if quote is None or quote.request_id != trip_request.id:
        raise ValidationFailed.field("quote_id", "no such quote on this request")
    if unit_amount < 1:
        raise ValidationFailed.field("unit_amount", "must be at least 1")
    if min_riders is not None and not 1 <= min_riders <= quote.seats:
        raise ValidationFailed.field("min_riders", "must be between 1 and the quote's seats")
    refusal = award_refusal(quote, now=now)
    if refusal:
        raise Conflict(f"the quote cannot be awarded: {refusal}")
    claimed = session.execute(
        update(TripRequest)
        .where(TripRequest.id == trip_request.id, TripRequest.status == "open")
        .values(status="awarded", awarded_quote_id=quote.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise IllegalTransition("this request is no longer open")
    session.refresh(trip_request)
    threshold = min_riders or suggested_min_riders(quote.amount, unit_amount, quote.seats)
    operator = operator_of(quote)
    existing = session.get(Trip, trip_request.trip_id) if trip_request.trip_id else None
    if existing is not None and existing.status not in ("failed", "canceled", "completed"):
        trip = _reassign(session, existing, quote, unit_amount, threshold, actor=actor)
    else:
        trip = _new_trip(session, trip_request, quote, unit_amount, threshold, actor=actor, now=now)
    trip.operator_id, trip.quote_id, trip.vehicle_id = operator.id, quote.id, quote.vehicle_id
    trip_request.trip_id = trip.id
    quote.status = "awarded"
    quote.updated_at = now
    session.flush()
    record(
        session,
        trip_request.partner_id,
        actor,
        "trip_request.awarded",
        "trip_request",
        trip_request.id,
        {"quote_id": quote.id, "operator": operator.slug, "trip_id": trip.id},
    )
    _tell_award(session, trip_request, quote, trip, now)
    return trip


def _operator_contact(operator: Operator) -> dict:
    return {
        "name": operator.name,
        "phone": operator.contact_phone,
        "email": operator.contact_email,
    }


def _new_trip(
    session: Session,
    trip_request: TripRequest,
    quote: Quote,
    unit_amount: int,
    min_riders: int,
    *,
    actor: str,
    now: datetime,
) -> Trip:
    departs = trip_request.departs_at
    deadline = max(departs - PLEDGE_WINDOW_BEFORE_DEPARTURE, now + (departs - now) / 2)
    event = session.get(Event, trip_request.event_id)
    return catalog.create_trip(
        session,
        event.partner,
        event,
        origin={"name": trip_request.origin_name, "region": trip_request.origin_region},
        stops=[
            {
                "name": trip_request.origin_name,
                "address": trip_request.origin_name,
                "departs_at": departs,
            }
        ],
        capacity=quote.seats,
        min_riders=min_riders,
        unit_amount=unit_amount,
        currency=quote.currency,
        pledge_deadline=deadline,
        operator=_operator_contact(operator_of(quote)),
        actor=actor,
    )


def _reassign(
    session: Session, trip: Trip, quote: Quote, unit_amount: int, min_riders: int, *, actor: str
) -> Trip:
    """The reopened request's trip gets the new operator and its seats (never below the seats
    pledged; what a live trip may change: `catalog.changeable_fields`)."""
    changes = {"operator": _operator_contact(operator_of(quote)), "capacity": quote.seats}
    if trip.status == "draft":
        changes.update(min_riders=min_riders, unit_amount=unit_amount, currency=quote.currency)
    return catalog.update_trip(session, trip, changes, actor=actor)


def _tell_award(
    session: Session, trip_request: TripRequest, winner: Quote, trip: Trip, now: datetime
) -> None:
    """The winner hears `quote.awarded`; every other open quote becomes `not_awarded` and its
    operator hears `quote.not_awarded` (and then sees nothing more of the request)."""
    request_data = OperatorTripRequestSchema().dump(trip_request)
    tell_operator(
        session,
        winner.operator_id,
        "quote.awarded",
        {
            **request_data,
            "quote_id": winner.id,
            "trip_id": trip.id,
            "amount": winner.amount,
            "currency": winner.currency,
        },
    )
    losers = session.scalars(
        select(Quote).where(
            Quote.request_id == trip_request.id, Quote.status == "open", Quote.id != winner.id
        )
    ).all()
    for quote in losers:
        quote.status = "not_awarded"
        quote.updated_at = now
        session.flush()
        tell_operator(
            session,
            quote.operator_id,
            "quote.not_awarded",
            {**_without_status(request_data), "quote_id": quote.id},
        )


def _without_status(request_data: dict) -> dict:
    """What a losing operator is told: the request it quoted on, not what became of it."""
    return {key: value for key, value in request_data.items() if key != "status"}


# --- an operator withdraws from an awarded trip ------------------------------------------------


def withdraw_from_trip(
    session: Session, operator: Operator, trip: Trip, *, actor: str, now: datetime | None = None
) -> TripRequest:
    """The operator gives back a trip it was awarded: the trip loses its operator (fans are
    not touched: the partner decides), the request reopens for quotes (the other operators
    asked are told again), and the partner is alerted (email to owners and editors, webhook
    `trip.operator_withdrew`)."""
    now = now or utcnow()
    if trip.operator_id != operator.id:
        raise NotFound(f"no trip {trip.id}")
    if trip.status in ("completed", "failed", "canceled"):
        raise IllegalTransition(f"this trip is {trip.status}; there is nothing to withdraw from")
    trip_request = session.scalar(select(TripRequest).where(TripRequest.trip_id == trip.id))
    quote = session.get(Quote, trip.quote_id) if trip.quote_id else None
    if quote is not None:
        quote.status = "withdrawn"
        quote.updated_at = now
    trip.operator_id = trip.quote_id = trip.vehicle_id = trip.driver_id = None
    trip.operator_name = trip.operator_phone = trip.operator_email = None
    if trip_request is not None:
        trip_request.status = "open"
        trip_request.awarded_quote_id = None
    session.flush()
    record(
        session,
        trip.partner_id,
        actor,
        "trip.operator_withdrew",
        "trip",
        trip.id,
        {"operator": operator.slug},
    )
    data = {
        "trip": TripSchema().dump(trip),
        "trip_request_id": trip_request.id if trip_request else None,
        "operator": {"slug": operator.slug, "name": operator.name},
    }
    emit(session, trip.partner_id, "trip.operator_withdrew", data)
    _alert_partner(session, trip, operator, data)
    if trip_request is not None:
        others = [i for i in invited_operator_ids(session, trip_request) if i != operator.id]
        tell_invited(session, trip_request, others)
    return trip_request


def _alert_partner(session: Session, trip: Trip, operator: Operator, data: dict) -> None:
    event = trip.event
    news = {
        "trip_request_id": data["trip_request_id"],
        "trip_id": trip.id,
        "operator": data["operator"],
        "event": {"title": event.title, "timezone": event.timezone},
        "origin": {"name": trip.origin_name},
    }
    admins = session.scalars(
        select(AdminUser)
        .where(AdminUser.partner_id == trip.partner_id, AdminUser.role.in_(ALERTED_ROLES))
        .order_by(AdminUser.created_at, AdminUser.id)
    ).all()
    for admin in admins:
        queue_news_email(
            session,
            kind="partner_news",
            to_address=admin.email,
            locale=admin.locale or event.partner.locale or "en",
            context={"event_type": "trip.operator_withdrew", "data": news, "sender": operator.name},
            partner_id=trip.partner_id,
        )
