"""The bus marketplace: a partner asks operators for a bus (a trip request) and operators
quote, revise and withdraw their quotes. Awarding one (which makes the draft trip) and an
operator giving the trip back: `awards`.

Who sees what: a request is the partner's; an operator sees it while it is open if it was
asked (invited), and afterwards only if its quote won. Plain Python over a Session: flushes,
never commits, raises domain errors.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from widget_server.domain.audit import record
from widget_server.domain.errors import Conflict, IllegalTransition, NotFound, ValidationFailed
from widget_server.domain.operators.news import tell_operator
from widget_server.ids import is_id
from widget_server.models import (
    Event,
    Operator,
    Partner,
    Quote,
    TripRequest,
    TripRequestInvite,
    Vehicle,
)
from widget_server.models.types import utcnow
from widget_server.representations import (
    OperatorTripRequestSchema,
    PartnerQuoteSchema,
)
from widget_server.webhooks.outbox import emit

MAX_SEATS = 1000  # a trip's capacity limit (api/trips/schemas.py)
MAX_AMOUNT = 100_000_000  # one million in a two-decimal currency
QUOTE_CHANGES = (
    "seats",
    "amount",
    "currency",
    "valid_until",
    "vehicle_kind",
    "vehicle_id",
    "notes",
)


def operator_of(quote: Quote) -> Operator:
    return object_session(quote).get(Operator, quote.operator_id)


def request_of(quote: Quote) -> TripRequest:
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
    tell_invited(session, trip_request, [op.id for op in asked])
    return trip_request


def tell_invited(session: Session, trip_request: TripRequest, operator_ids: list[str]) -> None:
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
    quote = session.get(Quote, quote_id) if is_id(quote_id, "quo") else None
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
        vehicle = _own_vehicle(session, operator_of(quote), changes["vehicle_id"])
        quote.vehicle_id = vehicle.id if vehicle else None
        if vehicle is not None:
            quote.seats = changes.get("seats", vehicle.seats)
            quote.vehicle_kind = changes.get("vehicle_kind", vehicle.kind)
    for name in ("seats", "amount", "valid_until", "vehicle_kind", "notes"):
        if name in changes:
            setattr(quote, name, changes[name])
    if "currency" in changes:
        quote.currency = changes["currency"].upper()
    _check_quote(quote, request_of(quote), now)
    quote.updated_at = now
    session.flush()
    record(
        session, request_of(quote).partner_id, actor, "quote.updated", "quote", quote.id, changes
    )
    emit(session, request_of(quote).partner_id, "quote.updated", _partner_quote(quote))
    return quote


def withdraw_quote(session: Session, quote: Quote, *, actor: str) -> Quote:
    """An open quote taken back before the award (an awarded one: `withdraw_from_trip`)."""
    _lock(session, quote)
    _ensure_open_quote(quote)
    quote.status = "withdrawn"
    quote.updated_at = utcnow()
    session.flush()
    record(session, request_of(quote).partner_id, actor, "quote.withdrawn", "quote", quote.id)
    emit(session, request_of(quote).partner_id, "quote.withdrawn", _partner_quote(quote))
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
    status = request_of(quote).status
    if status != "open":
        raise IllegalTransition(f"the request is {status}; quotes cannot change")


def _own_vehicle(session: Session, operator: Operator, vehicle_id: str | None) -> Vehicle | None:
    if vehicle_id is None:
        return None
    vehicle = session.get(Vehicle, vehicle_id) if is_id(vehicle_id, "veh") else None
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


# --- what a partner sees -----------------------------------------------------------------------


def _partner_quote(quote: Quote) -> dict:
    return PartnerQuoteSchema().dump(quote)


def quotes_of(session: Session, trip_request: TripRequest) -> list[Quote]:
    """The request's quotes, cheapest per seat first (withdrawn ones last)."""
    quotes = session.scalars(select(Quote).where(Quote.request_id == trip_request.id)).all()
    return sorted(quotes, key=lambda q: (q.status == "withdrawn", q.amount / max(q.seats, 1), q.id))
