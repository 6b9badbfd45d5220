"""The bus marketplace: a partner asks operators for a bus (a trip request), operators quote,
the partner awards one quote, which makes the draft trip; an operator may withdraw from an
awarded trip, which reopens the request.

Who sees what: a request is the partner's; an operator sees it while it is open if it was
asked (invited), and afterwards only if its quote won. Plain Python over a Session: flushes,
never commits, raises domain errors.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session

from widget_server.domain import catalog
from widget_server.domain.audit import record
from widget_server.domain.errors import Conflict, IllegalTransition, NotFound, ValidationFailed
from widget_server.domain.notify import queue_news_email
from widget_server.domain.operators.news import tell_operator
from widget_server.domain.operators.operators import (
    INSURANCE_ENDS_BEFORE,
    INSURANCE_EXPIRED,
    MISSING_USDOT,
    NO_INSURANCE,
    award_blockers,
)
from widget_server.models import (
    AdminUser,
    Event,
    Operator,
    Partner,
    Quote,
    Trip,
    TripRequest,
    TripRequestInvite,
    Vehicle,
)
from widget_server.models.types import utcnow
from widget_server.representations import (
    OperatorTripRequestSchema,
    PartnerQuoteSchema,
    TripSchema,
)
from widget_server.webhooks.outbox import emit

# Partner admins who hear that an operator withdrew (they can act on it).
ALERTED_ROLES = ("owner", "editor")
# The award's draft trip closes pledges this long before departure (the partner may change it).
PLEDGE_WINDOW_BEFORE_DEPARTURE = timedelta(hours=48)
MAX_SEATS = 1000  # a trip's capacity limit (api/trips/schemas.py)
MAX_AMOUNT = 100_000_000  # one million in a two-decimal currency
# What each of `award_blockers`' codes means, in the words of a refused award (409 detail).
BLOCKER_TEXT = {
    MISSING_USDOT: "the operator has no USDOT number",
    NO_INSURANCE: "the operator's insurance is not on file",
    INSURANCE_EXPIRED: "the operator's insurance has expired",
    INSURANCE_ENDS_BEFORE: "the operator's insurance ends before the trip",
}
QUOTE_EXPIRED = "this quote has expired"
QUOTE_CHANGES = (
    "seats",
    "amount",
    "currency",
    "valid_until",
    "vehicle_kind",
    "vehicle_id",
    "notes",
)


def _operator_of(quote: Quote) -> Operator:
    return object_session(quote).get(Operator, quote.operator_id)


def _request_of(quote: Quote) -> TripRequest:
    return object_session(quote).get(TripRequest, quote.request_id)


# --- asking for a bus --------------------------------------------------------------------------


def operators_serving(session: Session, region: str) -> list[Operator]:
    """Every operator whose service regions include `region` (upper-case code), by name."""
    operators = session.scalars(select(Operator).order_by(Operator.name, Operator.id)).all()
    return [op for op in operators if region.upper() in [r.upper() for r in op.regions or []]]


def _operators_to_ask(session: Session, slugs: list[str] | None, region: str) -> list[Operator]:
    if slugs:
        found = {
            op.slug: op for op in session.scalars(select(Operator).where(Operator.slug.in_(slugs)))
        }
        unknown = [slug for slug in slugs if slug not in found]
        if unknown:
            raise ValidationFailed.field("operators", f"no operator {', '.join(unknown)}")
        return [found[slug] for slug in dict.fromkeys(slugs)]
    operators = operators_serving(session, region)
    if not operators:
        raise ValidationFailed.field(
            "operators", f"no operator serves the region {region}; name the operators to ask"
        )
    return operators


def request_bus(
    session: Session,
    partner: Partner,
    event: Event,
    *,
    origin: dict,
    departs_at: datetime,
    expected_riders: int,
    vehicle_kind: str,
    operators: list[str] | None = None,
    actor: str,
) -> TripRequest:
    """A new open trip request, sent to `operators` (slugs; default: every operator serving the
    origin's region), each of whom is told. 422 naming the field when it cannot be sent."""
    if event.partner_id != partner.id:
        raise ValidationFailed.field("event_id", "no such event")
    if departs_at >= event.starts_at:
        raise ValidationFailed.field("departs_at", "must be before the event starts")
    region = (origin.get("region") or "").upper()
    if not region and not operators:
        raise ValidationFailed.field("origin.region", "is needed to find the operators to ask")
    asked = _operators_to_ask(session, operators, region)
    trip_request = TripRequest(
        partner_id=partner.id,
        event_id=event.id,
        origin_name=origin["name"],
        origin_region=region or None,
        departs_at=departs_at,
        expected_riders=expected_riders,
        vehicle_kind=vehicle_kind,
        status="open",
    )
    session.add(trip_request)
    session.flush()
    for operator in asked:
        session.add(TripRequestInvite(request_id=trip_request.id, operator_id=operator.id))
    session.flush()
    record(
        session,
        partner.id,
        actor,
        "trip_request.created",
        "trip_request",
        trip_request.id,
        {"operators": [op.slug for op in asked]},
    )
    _tell_invited(session, trip_request, [op.id for op in asked])
    return trip_request


def _tell_invited(session: Session, trip_request: TripRequest, operator_ids: list[str]) -> None:
    data = OperatorTripRequestSchema().dump(trip_request)
    for operator_id in operator_ids:
        tell_operator(session, operator_id, "trip_request.created", data)


def invited_operator_ids(session: Session, trip_request: TripRequest) -> list[str]:
    return list(
        session.scalars(
            select(TripRequestInvite.operator_id)
            .where(TripRequestInvite.request_id == trip_request.id)
            .order_by(TripRequestInvite.operator_id)
        )
    )


# --- what an operator sees ---------------------------------------------------------------------


def visible_to_operator():
    """SQL: the requests an operator (bound as the `operator_id` of the invite join) may see:
    open ones it was asked for, and those its quote won."""
    won = select(Quote.id).where(
        Quote.id == TripRequest.awarded_quote_id, Quote.operator_id == TripRequestInvite.operator_id
    )
    return (TripRequest.status == "open") | won.exists()


def operator_requests_query(operator_id: str, *, open_only: bool = False):
    """The requests the operator may see (`open_only`: the ones it can still quote on)."""
    query = (
        select(TripRequest)
        .join(TripRequestInvite, TripRequestInvite.request_id == TripRequest.id)
        .where(TripRequestInvite.operator_id == operator_id)
    )
    if open_only:
        return query.where(TripRequest.status == "open")
    return query.where(visible_to_operator())


def request_for_operator(session: Session, operator: Operator, request_id: str) -> TripRequest:
    """The request if the operator may see it; else 404 (never a hint that it exists)."""
    trip_request = session.scalar(
        operator_requests_query(operator.id).where(TripRequest.id == request_id)
    )
    if trip_request is None:
        raise NotFound(f"no trip request {request_id}")
    return trip_request


def operator_quotes_query(operator_id: str):
    """The operator's own quotes (for listing)."""
    return select(Quote).where(Quote.operator_id == operator_id)


def quote_of_operator(session: Session, operator: Operator, quote_id: str) -> Quote:
    """The operator's own quote, or 404."""
    quote = session.get(Quote, quote_id)
    if quote is None or quote.operator_id != operator.id:
        raise NotFound(f"no quote {quote_id}")
    return quote


# --- quoting -----------------------------------------------------------------------------------


def submit_quote(
    session: Session,
    operator: Operator,
    trip_request: TripRequest,
    *,
    seats: int | None = None,
    amount: int,
    currency: str,
    valid_until: datetime,
    vehicle_kind: str | None = None,
    vehicle_id: str | None = None,
    notes: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> Quote:
    """The operator's quote on an open request it was asked for (one open quote at a time: it
    revises or withdraws that one). Seats and kind default to the chosen vehicle's."""
    now = now or utcnow()
    _ensure_quotable(session, operator, trip_request)
    if session.scalar(
        select(Quote.id).where(
            Quote.request_id == trip_request.id,
            Quote.operator_id == operator.id,
            Quote.status == "open",
        )
    ):
        raise Conflict("you already have an open quote on this request; revise or withdraw it")
    vehicle = _own_vehicle(session, operator, vehicle_id)
    quote = Quote(
        request_id=trip_request.id,
        operator_id=operator.id,
        vehicle_id=vehicle.id if vehicle else None,
        vehicle_kind=vehicle_kind or (vehicle.kind if vehicle else trip_request.vehicle_kind),
        seats=seats if seats is not None else (vehicle.seats if vehicle else None),
        amount=amount,
        currency=currency.upper(),
        valid_until=valid_until,
        notes=notes or None,
        status="open",
    )
    _check_quote(quote, trip_request, now)
    session.add(quote)
    session.flush()
    record(
        session,
        trip_request.partner_id,
        actor,
        "quote.created",
        "quote",
        quote.id,
        {"operator": operator.slug, "amount": amount, "currency": quote.currency},
    )
    emit(session, trip_request.partner_id, "quote.created", _partner_quote(quote))
    return quote


def revise_quote(
    session: Session, quote: Quote, changes: dict, *, actor: str, now: datetime | None = None
) -> Quote:
    """Change an open quote while its request is open (any of `QUOTE_CHANGES`)."""
    now = now or utcnow()
    _lock(session, quote)
    _ensure_open_quote(quote)
    unknown = set(changes) - set(QUOTE_CHANGES)
    if unknown:
        raise ValidationFailed.field(sorted(unknown)[0], "cannot be changed")
    if "vehicle_id" in changes:
        vehicle = _own_vehicle(session, _operator_of(quote), changes["vehicle_id"])
        quote.vehicle_id = vehicle.id if vehicle else None
        if vehicle is not None:
            quote.seats = changes.get("seats", vehicle.seats)
            quote.vehicle_kind = changes.get("vehicle_kind", vehicle.kind)
    for name in ("seats", "amount", "valid_until", "vehicle_kind", "notes"):
        if name in changes:
            setattr(quote, name, changes[name])
    if "currency" in changes:
        quote.currency = changes["currency"].upper()
    _check_quote(quote, _request_of(quote), now)
    quote.updated_at = now
    session.flush()
    record(
        session, _request_of(quote).partner_id, actor, "quote.updated", "quote", quote.id, changes
    )
    emit(session, _request_of(quote).partner_id, "quote.updated", _partner_quote(quote))
    return quote


def withdraw_quote(session: Session, quote: Quote, *, actor: str) -> Quote:
    """An open quote taken back before the award (an awarded one: `withdraw_from_trip`)."""
    _lock(session, quote)
    _ensure_open_quote(quote)
    quote.status = "withdrawn"
    quote.updated_at = utcnow()
    session.flush()
    record(session, _request_of(quote).partner_id, actor, "quote.withdrawn", "quote", quote.id)
    emit(session, _request_of(quote).partner_id, "quote.withdrawn", _partner_quote(quote))
    return quote


def _lock(session: Session, row) -> None:
    """Read the row again under a row lock (FOR UPDATE; SQLite serialises writers anyway), so
    an award and a change to the same quote or request happen one after the other: a quote is
    never revised after it was awarded, nor sent to a request awarded meanwhile."""
    session.refresh(row, with_for_update=True)


def _ensure_quotable(session: Session, operator: Operator, trip_request: TripRequest) -> None:
    _lock(session, trip_request)
    invited = session.scalar(
        select(TripRequestInvite.operator_id).where(
            TripRequestInvite.request_id == trip_request.id,
            TripRequestInvite.operator_id == operator.id,
        )
    )
    if invited is None:
        raise NotFound(f"no trip request {trip_request.id}")
    if trip_request.status != "open":
        raise IllegalTransition(f"this request is {trip_request.status}; it takes no quotes")


def _ensure_open_quote(quote: Quote) -> None:
    if quote.status != "open":
        raise IllegalTransition(f"this quote is {quote.status}; only an open quote can change")
    status = _request_of(quote).status
    if status != "open":
        raise IllegalTransition(f"the request is {status}; quotes cannot change")


def _own_vehicle(session: Session, operator: Operator, vehicle_id: str | None) -> Vehicle | None:
    if vehicle_id is None:
        return None
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None or vehicle.operator_id != operator.id:
        raise ValidationFailed.field("vehicle_id", "no such vehicle in your fleet")
    if not vehicle.active:
        raise ValidationFailed.field("vehicle_id", "this vehicle is not active")
    return vehicle


def _check_quote(quote: Quote, trip_request: TripRequest, now: datetime) -> None:
    if quote.seats is None:
        raise ValidationFailed.field("seats", "is required (or choose a vehicle from your fleet)")
    if not 1 <= quote.seats <= MAX_SEATS:
        raise ValidationFailed.field("seats", f"must be between 1 and {MAX_SEATS}")
    if not 1 <= quote.amount <= MAX_AMOUNT:
        raise ValidationFailed.field("amount", f"must be between 1 and {MAX_AMOUNT}")
    if quote.valid_until <= now:
        raise ValidationFailed.field("valid_until", "must be in the future")
    if quote.valid_until > trip_request.departs_at:
        raise ValidationFailed.field("valid_until", "must not be after the departure")


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
    blockers = award_blockers(_operator_of(quote), _request_of(quote).departs_at.date())
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
    operator = _operator_of(quote)
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
        operator=_operator_contact(_operator_of(quote)),
        actor=actor,
    )


def _reassign(
    session: Session, trip: Trip, quote: Quote, unit_amount: int, min_riders: int, *, actor: str
) -> Trip:
    """The reopened request's trip gets the new operator and its seats (never below the seats
    pledged; what a live trip may change: `catalog.changeable_fields`)."""
    changes = {"operator": _operator_contact(_operator_of(quote)), "capacity": quote.seats}
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
        _tell_invited(session, trip_request, others)
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


# --- what a partner sees -----------------------------------------------------------------------


def _partner_quote(quote: Quote) -> dict:
    return PartnerQuoteSchema().dump(quote)


def quotes_of(session: Session, trip_request: TripRequest) -> list[Quote]:
    """The request's quotes, cheapest per seat first (withdrawn ones last)."""
    quotes = session.scalars(select(Quote).where(Quote.request_id == trip_request.id)).all()
    return sorted(quotes, key=lambda q: (q.status == "withdrawn", q.amount / max(q.seats, 1), q.id))
