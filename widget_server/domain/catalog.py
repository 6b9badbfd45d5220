"""Events and trips: creating them and moving a trip from draft to open."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.errors import Conflict, IllegalTransition, ValidationFailed
from widget_server.domain.pledges import waitlist
from widget_server.domain.pricing.settings import clean_group_tiers, clean_price_steps
from widget_server.domain.work import schedule
from widget_server.models import Event, Partner, Stop, Trip
from widget_server.models.types import utcnow
from widget_server.webhooks.outbox import emit


def create_event(
    session: Session,
    partner: Partner,
    *,
    title: str,
    venue: str,
    starts_at: datetime,
    timezone: str,
    actor: str,
    group_tiers: list[dict] = (),
) -> Event:
    event = Event(
        partner_id=partner.id,
        title=title,
        venue=venue,
        starts_at=starts_at,
        timezone=timezone,
        group_tiers=clean_group_tiers(list(group_tiers)),
    )
    session.add(event)
    session.flush()
    record(session, partner.id, actor, "event.created", "event", event.id, {"title": title})
    return event


def update_event(session: Session, event: Event, changes: dict, *, actor: str) -> Event:
    """Change an event; it cannot move to before a departure of one of its trips."""
    if "starts_at" in changes:
        first_departure = session.scalar(
            select(func.min(Stop.departs_at))
            .join(Trip, Stop.trip_id == Trip.id)
            .where(Trip.event_id == event.id, Trip.status != "canceled")
        )
        if first_departure is not None and changes["starts_at"] <= _aware(first_departure):
            raise ValidationFailed.field(
                "starts_at", "must be after the first departure of the event's trips"
            )
    if "group_tiers" in changes:
        changes = {**changes, "group_tiers": clean_group_tiers(changes["group_tiers"] or [])}
    for key, value in changes.items():
        setattr(event, key, value)
    session.flush()
    record(session, event.partner_id, actor, "event.updated", "event", event.id, changes)
    return event


def delete_event(session: Session, event: Event, *, actor: str) -> None:
    """Delete an event without trips; one with trips is a Conflict (its trips carry pledges)."""
    if session.scalar(select(func.count()).where(Trip.event_id == event.id)):
        raise Conflict("this event has trips; cancel them instead of deleting the event")
    record(session, event.partner_id, actor, "event.deleted", "event", event.id)
    if event.sponsor is not None:  # each event owns its sponsor row (domain/sponsors.py)
        session.delete(event.sponsor)
    session.delete(event)
    session.flush()


def create_trip(
    session: Session,
    partner: Partner,
    event: Event,
    *,
    origin: dict,
    stops: list[dict],
    capacity: int,
    min_riders: int,
    unit_amount: int,
    currency: str,
    pledge_deadline: datetime,
    operator: dict | None,
    actor: str,
    price_steps: list[dict] = (),
    group_tiers: list[dict] | None = None,
) -> Trip:
    """A new draft trip with its stops, after checking that its numbers and times make sense."""
    if event.partner_id != partner.id:
        raise ValidationFailed.field("event_id", "no such event")
    _check_trip_numbers(capacity, min_riders, unit_amount)
    _check_schedule(stops, pledge_deadline, event.starts_at)
    operator = operator or {}
    trip = Trip(
        partner_id=partner.id,
        event_id=event.id,
        origin_name=origin["name"],
        origin_region=origin.get("region"),
        capacity=capacity,
        min_riders=min_riders,
        unit_amount=unit_amount,
        price_steps=clean_price_steps(list(price_steps)),
        group_tiers=None if group_tiers is None else clean_group_tiers(group_tiers),
        currency=currency.upper(),
        pledge_deadline=pledge_deadline,
        operator_name=operator.get("name"),
        operator_phone=operator.get("phone"),
        operator_email=operator.get("email"),
        status="draft",
        seats_pledged=0,
        stops=_stops(stops),
    )
    session.add(trip)
    session.flush()
    record(session, partner.id, actor, "trip.created", "trip", trip.id, {"origin": origin})
    return trip


def _stops(stops: list[dict]) -> list[Stop]:
    return [
        Stop(
            position=index,
            name=stop["name"],
            address=stop["address"],
            departs_at=stop["departs_at"],
        )
        for index, stop in enumerate(stops)
    ]


def _check_schedule(stops: list[dict], pledge_deadline: datetime, event_starts: datetime) -> None:
    """The order of a trip's times: pledge deadline < first departure < the event's start
    (and stops in order). The window each time must be in is the API field's (`AwareDateTime`).
    """
    if not stops:
        raise ValidationFailed.field("stops", "a trip needs at least one stop")
    departures = [_aware(stop["departs_at"]) for stop in stops]
    if departures != sorted(departures):
        raise ValidationFailed.field("stops", "stops must be in order of departure time")
    if _aware(pledge_deadline) >= departures[0]:
        raise ValidationFailed.field("pledge_deadline", "must be before the first stop's departure")
    if departures[0] >= _aware(event_starts):
        raise ValidationFailed.field("stops.0.departs_at", "must be before the event starts")


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC from aggregate queries; compare aware datetimes only."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# What a trip that is no longer a draft may still change.
# Prices may change while a trip sells: a pledge keeps the price it was made at.
LIVE_TRIP_CHANGES = {
    "open": {"operator", "capacity", "pledge_deadline", "price_steps", "group_tiers"},
    "confirmed": {"operator", "capacity", "price_steps", "group_tiers"},
}


def changeable_fields(trip: Trip) -> set[str] | None:
    """Which fields of the trip may change now: None (all of them) while it is a draft, else
    `LIVE_TRIP_CHANGES` of its status (none once it is over). The API, the console's form and
    `update_trip` all ask this."""
    if trip.status == "draft":
        return None
    return LIVE_TRIP_CHANGES.get(trip.status, set())


def update_trip(
    session: Session, trip: Trip, changes: dict, *, actor: str, now: datetime | None = None
) -> Trip:
    """Change a trip: anything while draft; operator, capacity and (while open) the deadline
    after that (`changeable_fields`). Capacity never drops below the seats already pledged."""
    now = now or utcnow()
    allowed = changeable_fields(trip)
    if allowed is not None:
        refused = set(changes) - allowed
        if refused:
            raise IllegalTransition(
                f"a {trip.status} trip cannot change {', '.join(sorted(refused))}"
            )
    capacity = changes.get("capacity", trip.capacity)
    min_riders = changes.get("min_riders", trip.min_riders)
    _check_trip_numbers(capacity, min_riders, changes.get("unit_amount", trip.unit_amount))
    deadline = changes.get("pledge_deadline", trip.pledge_deadline)
    if "pledge_deadline" in changes and trip.status == "open" and deadline <= now:
        raise ValidationFailed.field("pledge_deadline", "must be in the future")
    starts = trip.event.starts_at
    if "stops" in changes:
        _check_schedule(changes["stops"], deadline, starts)
        trip.stops = _stops(changes["stops"])
    else:
        _check_schedule([{"departs_at": s.departs_at} for s in trip.stops], deadline, starts)
    if "capacity" in changes:
        # Atomic against pledges landing right now; min_riders changes in the same statement,
        # so the pair is checked (ck_trips_min_riders_in_range) as the partner sent it.
        result = session.execute(
            update(Trip)
            .where(Trip.id == trip.id, Trip.seats_pledged + Trip.seats_held <= capacity)
            .values(capacity=capacity, min_riders=min_riders)
            .execution_options(synchronize_session=False)
        )
        session.expire(trip, ["capacity", "seats_pledged", "seats_held", "min_riders"])
        schedule(session, "refresh_waitlist", trip.id)  # more seats: the waitlist first
        if result.rowcount != 1:
            raise ValidationFailed.field(
                "capacity",
                f"{trip.seats_pledged} seats are already pledged; capacity cannot be lower",
            )
    if "price_steps" in changes:
        changes = {**changes, "price_steps": clean_price_steps(changes["price_steps"] or [])}
    if "group_tiers" in changes and changes["group_tiers"] is not None:
        changes = {**changes, "group_tiers": clean_group_tiers(changes["group_tiers"])}
    for key in (
        "min_riders",
        "unit_amount",
        "currency",
        "pledge_deadline",
        "price_steps",
        "group_tiers",
    ):
        if key in changes:
            setattr(trip, key, changes[key])
    if "pledge_deadline" in changes or "stops" in changes:
        session.flush()
        waitlist.shorten_offers(session, trip, now=now)  # offers end when pledges close
    if "origin" in changes:
        trip.origin_name = changes["origin"]["name"]
        trip.origin_region = changes["origin"].get("region")
    if "operator" in changes:
        operator = changes["operator"] or {}
        trip.operator_name = operator.get("name")
        trip.operator_phone = operator.get("phone")
        trip.operator_email = operator.get("email")
    session.flush()
    record(session, trip.partner_id, actor, "trip.updated", "trip", trip.id, changes)
    return trip


def _check_trip_numbers(capacity: int, min_riders: int, unit_amount: int) -> None:
    if capacity < 1:
        raise ValidationFailed.field("capacity", "must be at least 1")
    if not 1 <= min_riders <= capacity:
        raise ValidationFailed.field("min_riders", "must be between 1 and the capacity")
    if unit_amount < 0:
        raise ValidationFailed.field("unit_amount", "must not be negative")


def open_trip(session: Session, trip: Trip, *, actor: str, now: datetime | None = None) -> Trip:
    """draft -> open: fans can pledge from now until the deadline."""
    now = now or utcnow()
    if trip.status != "draft":
        raise IllegalTransition(f"only a draft trip can be opened; this one is {trip.status}")
    if trip.pledge_deadline <= now:
        raise ValidationFailed.field("pledge_deadline", "is in the past; move it before opening")
    trip.status = "open"
    trip.opened_at = now
    session.flush()
    record(session, trip.partner_id, actor, "trip.opened", "trip", trip.id)
    emit(session, trip.partner_id, "trip.opened", trip)
    return trip
