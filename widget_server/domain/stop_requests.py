"""Stops from the riders: fans ask for a pick-up stop a trip does not have, the requests are
counted per place, and when the partner adds a stop for that place the fans who asked are
emailed: those with a live pledge on the trip may move it there from the manage page
(`fan_changes.change_stop`, which offers every stop of the trip), the others get a link to pledge
from the new stop.

A place is counted once per requesting network (an IPv4 address, an IPv6 /64: the HMAC
`demand.address_key`), as demand is: one person typing six made-up emails from one place counts
once. A fan's request is kept once per place (`text.fan_email_key`, so fan+1@x asking again is
fan@x asking again). Made-up emails are not a way to have us write to strangers: when the stop
is added, at most `EMAILS_PER_NETWORK` of the requests made from one network (the first ones)
are emailed, on top of the per-address and per-fan rate limits on asking.
Places are compared by `place_key`: case, accents, punctuation and spacing folded.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.errors import IllegalTransition, NotFound, ValidationFailed
from widget_server.domain.notify import queue_pledge_email, queue_stop_request_email
from widget_server.domain.pledges.sales import SELLING_STATUSES, sale_closed
from widget_server.domain.privacy import ERASED_EMAIL
from widget_server.domain.text import fan_email_key
from widget_server.models import Partner, Pledge, Stop, StopRequest, Trip
from widget_server.models.pledges import LIVE_STATUSES
from widget_server.models.types import utcnow

# Trips that take stop requests and new stops: the ones still selling seats.
REQUESTABLE_STATUSES = SELLING_STATUSES


def takes_stop_requests(trip: Trip, now: datetime | None = None) -> bool:
    """Whether fans may ask for a stop on the trip now: it runs and has not departed (past the
    pledge deadline too). The trip page's form and `request_stop` both ask this."""
    now = now or utcnow()
    return trip.status in REQUESTABLE_STATUSES and not (trip.departs_at and trip.departs_at <= now)


# How many fans who asked from one network are emailed when their stop is added (a family or
# a few friends on one connection; not a list of made-up or someone else's addresses).
EMAILS_PER_NETWORK = 3


def place_key(place: str) -> str:
    """The place folded so that spellings of one place count together: "Main St." and
    "  main  st" and "Máin St" are one place."""
    decomposed = unicodedata.normalize("NFKD", place.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w]+", " ", bare).split())[:200]


def _selling_trip(session: Session, partner: Partner, trip_id: str) -> Trip:
    trip = session.scalar(select(Trip).where(Trip.id == trip_id, Trip.partner_id == partner.id))
    if trip is None or trip.status == "draft":
        raise NotFound(f"no trip {trip_id}")
    return trip


def request_stop(
    session: Session,
    partner: Partner,
    trip_id: str,
    *,
    place: str,
    address: str,
    email: str,
    requester: str,
    locale: str = "en",
    now: datetime | None = None,
) -> tuple[StopRequest, int]:
    """Record a fan's request for a stop at `place` from the network `requester` (an
    `address_key`); returns it and how many networks asked for that place. Asking again for
    the same place returns the first request."""
    now = now or utcnow()
    trip = _selling_trip(session, partner, trip_id)
    if not takes_stop_requests(trip, now):
        raise IllegalTransition("this trip no longer takes stop requests")
    key = place_key(place)
    if not key:
        raise ValidationFailed.field("place", "must name a place")
    if any(place_key(stop.name) == key for stop in trip.stops):
        raise ValidationFailed.field("place", "is already a stop of this trip")
    fan = fan_email_key(email)
    existing = session.scalar(
        select(StopRequest).where(
            StopRequest.trip_id == trip.id,
            StopRequest.place_key == key,
            StopRequest.email_key == fan,
        )
    )
    if existing is None:
        existing = StopRequest(
            partner_id=partner.id,
            trip_id=trip.id,
            place=place,
            place_key=key,
            address=address,
            email=email,
            email_key=fan,
            address_key=requester,
            locale=locale,
            created_at=now,
        )
        session.add(existing)
        session.flush()
    return existing, _count(session, trip.id, key)


def _network(model=StopRequest):
    """The network a request counts for: its `address_key`, or (older requests, made before
    networks were kept) the request itself."""
    return func.coalesce(model.address_key, model.id)


def _count(session: Session, trip_id: str, key: str) -> int:
    return session.scalar(
        select(func.count(func.distinct(_network()))).where(
            StopRequest.trip_id == trip_id, StopRequest.place_key == key
        )
    )


def requested_places(session: Session, trip: Trip) -> list[dict]:
    """The places fans asked for on `trip`, most asked first: the first spelling and the
    latest address given, how many networks asked, when first and last asked, and the stop
    once added."""
    requests = session.scalars(
        select(StopRequest)
        .where(StopRequest.trip_id == trip.id)
        .order_by(StopRequest.created_at, StopRequest.id)
    ).all()
    places: dict[str, dict] = {}
    networks: dict[str, set] = {}
    for req in requests:
        place = places.setdefault(
            req.place_key,
            {
                "object": "stop_request",
                "place": req.place,
                "place_key": req.place_key,
                "address": req.address,
                "count": 0,
                "first_requested_at": req.created_at,
                "last_requested_at": req.created_at,
                "stop_id": None,
            },
        )
        networks.setdefault(req.place_key, set()).add(req.address_key or req.id)
        place["count"] = len(networks[req.place_key])
        place["address"] = req.address
        place["last_requested_at"] = req.created_at
        place["stop_id"] = place["stop_id"] or req.stop_id
    return sorted(places.values(), key=lambda p: (-p["count"], p["first_requested_at"]))


def add_stop(
    session: Session,
    trip: Trip,
    *,
    name: str,
    address: str,
    departs_at: datetime,
    actor: str,
    now: datetime | None = None,
) -> Stop:
    """Add a pick-up stop to a live (open or confirmed) trip, in departure order. Stop
    requests for the same place are answered: their fans with a live pledge on the trip get a
    `stop_added` email pointing at the manage page, where they can move to the new stop; the
    others (who asked without pledging) a `stop_added_asked` email with a link to pledge from
    it, while the trip takes pledges."""
    now = now or utcnow()
    if trip.status not in REQUESTABLE_STATUSES:
        raise IllegalTransition(f"a {trip.status} trip cannot get new stops")
    if departs_at <= now:
        raise ValidationFailed.field("departs_at", "must be in the future")
    key = place_key(name)
    if any(place_key(stop.name) == key for stop in trip.stops):
        raise ValidationFailed.field("name", "is already a stop of this trip")
    if departs_at >= trip.event.starts_at:
        raise ValidationFailed.field("departs_at", "must be before the event starts")
    if trip.status == "open" and departs_at <= trip.pledge_deadline:
        raise ValidationFailed.field("departs_at", "must be after the pledge deadline")
    stop = Stop(name=name, address=address, departs_at=departs_at, position=len(trip.stops))
    trip.stops.append(stop)
    # Keep positions in departure order (the order fans and drivers see).
    for index, each in enumerate(sorted(trip.stops, key=lambda s: (s.departs_at, s.position))):
        each.position = index
    session.flush()
    record(session, trip.partner_id, actor, "trip.stop_added", "trip", trip.id, {"stop": stop.id})
    _answer_requests(session, trip, stop, key, now)
    return stop


def _answer_requests(session: Session, trip: Trip, stop: Stop, key: str, now: datetime) -> None:
    requests = session.scalars(
        select(StopRequest)
        .where(
            StopRequest.trip_id == trip.id,
            StopRequest.place_key == key,
            StopRequest.stop_id.is_(None),
            StopRequest.email != ERASED_EMAIL,  # an erased fan is counted, never written to
        )
        .order_by(StopRequest.created_at, StopRequest.id)
    ).all()
    if not requests:
        return
    asked = {req.email_key for req in requests}
    for req in requests:
        req.stop_id = stop.id
    pledges = session.scalars(
        select(Pledge).where(Pledge.trip_id == trip.id, Pledge.status.in_(LIVE_STATUSES))
    ).all()
    pledged = set()
    for pledge in pledges:
        fan = fan_email_key(pledge.email)
        if fan in asked:
            pledged.add(fan)
            if pledge.stop_id != stop.id:
                queue_pledge_email(session, pledge, "stop_added", new_stop_id=stop.id)
    # Fans who asked without pledging are told too, with a link to pledge from the new stop,
    # while the trip still takes pledges: a few per network (made-up or strangers' addresses
    # typed from one place do not make us write to each).
    if sale_closed(trip, now) is None:
        for req in _writable([req for req in requests if req.email_key not in pledged]):
            queue_stop_request_email(session, req, "stop_added_asked", new_stop_id=stop.id)
    session.flush()


def _writable(requests: list[StopRequest]) -> list[StopRequest]:
    """The requests whose fans are written to: the first `EMAILS_PER_NETWORK` of each network
    (`requests` in the order they were made)."""
    kept: list[StopRequest] = []
    per_network: dict[str, int] = {}
    for req in requests:
        network = req.address_key or req.id
        per_network[network] = per_network.get(network, 0) + 1
        if per_network[network] <= EMAILS_PER_NETWORK:
            kept.append(req)
    return kept
