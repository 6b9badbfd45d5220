"""The operator's trips: the trips awarded to a bus company across every partner, their
manifests as the operator sees them, assigning a vehicle and a driver, the driver's link.

A trip is the operator's when `trips.operator_id` names it (set by the award); any other trip,
another operator's or one awarded to nobody, is "not found", whatever the route.

What an operator sees of the riders (`operator_manifest`): per stop, each rider's name, seats,
whether they may board (paid) with their boarding code, and whether (when, by which device) they
boarded. Never a fan's email or phone, the pledge's amount or status beyond "may board", nor
anything about cards or payments: those stay with the partner.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from widget_server.domain import checkin
from widget_server.domain.errors import Conflict, NotFound, ValidationFailed
from widget_server.domain.manifest import build_manifest
from widget_server.domain.operators.news import tell_operator
from widget_server.ids import is_id
from widget_server.models import OperatorDriver, Trip, Vehicle
from widget_server.representations import OperatorTripSchema

# A trip still to run: vehicle and driver may change, the driver link may be issued.
ASSIGNABLE = ("draft", "open", "confirmed")
# What `assign` may warn about (the assignment stands), by code; faces word them.
WARNINGS = {
    "vehicle_below_capacity": "{vehicle} has {seats} seats; the trip sells up to {capacity}:"
    " ask the partner to lower the capacity",
    "link_when_open": "the driver gets the check-in link once the partner opens the trip",
    "driver_without_email": "{driver} has no email address: give them the check-in link yourself",
}


def warning_text(warning: tuple[str, dict]) -> str:
    """A warning of `assign` in plain English (the API's words)."""
    code, values = warning
    return WARNINGS[code].format(**values)


def trips_query(operator_id: str):
    """The operator's trips (every partner, every status), with their stops."""
    return select(Trip).where(Trip.operator_id == operator_id).options(selectinload(Trip.stops))


def operator_trip(session: Session, operator_id: str, trip_id: str) -> Trip:
    """The operator's trip, or NotFound (another operator's, or nobody's)."""
    trip = session.get(Trip, trip_id) if isinstance(trip_id, str) else None
    if trip is None or trip.operator_id != operator_id:
        raise NotFound(f"no trip {trip_id}")
    return trip


def tell_trip_operator(session: Session, trip: Trip, event_type: str, **extra) -> None:
    """Tell the trip's operator (if it has one) `event_type` about the trip, as it sees it."""
    if trip.operator_id:
        data = {**OperatorTripSchema().dump(trip), **extra}
        tell_operator(session, trip.operator_id, event_type, data)


def operator_manifest(session: Session, trip: Trip, *, secret: str) -> dict:
    """The trip's riders per stop as the operator sees them (see the module's docstring)."""
    full = build_manifest(session, trip, secret=secret)
    return {
        "object": "operator_manifest",
        "trip_id": trip.id,
        "trip_status": trip.status,
        "seats": full["seats"],
        "boarded_seats": full["boarded_seats"],
        "stops": [
            {
                "id": stop["id"],
                "name": stop["name"],
                "address": stop["address"],
                "departs_at": stop["departs_at"],
                "seats": stop["seats"],
                "boarded_seats": stop["boarded_seats"],
                "riders": [_rider(rider) for rider in stop["riders"]],
            }
            for stop in full["stops"]
        ],
    }


def _rider(rider: dict) -> dict:
    return {
        "pledge_id": rider["pledge_id"],
        "name": rider["name"],
        "seats": rider["seats"],
        "may_board": rider["status"] == "paid",
        "boarding_code": rider["boarding_code"],
        "boarded_at": rider["boarded_at"],
        "boarded_by": rider["boarded_by"],
        "double_boarded": rider["double_boarded"],
    }


def _own(session: Session, model, operator_id: str, object_id, field: str):
    """The operator's own vehicle or driver named in the input, or 422 naming `field` (the
    same answer for an unknown id and another operator's)."""
    row = session.get(model, object_id) if is_id(object_id) else None
    if row is None or row.operator_id != operator_id:
        raise ValidationFailed.field(field, "no such one among yours")
    return row


def assign(
    session: Session,
    operator_id: str,
    trip: Trip,
    *,
    vehicle_id: str | None = None,
    driver_id: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> list[tuple[str, dict]]:
    """Assign the operator's vehicle and/or driver to its trip; returns warnings as (code,
    values) of `WARNINGS` (the assignment stands). A vehicle with fewer seats than are
    pledged (or held for the waitlist) is refused (409); fewer than the trip's capacity is a
    warning (the partner may sell up to it). A newly assigned driver gets a new check-in link
    by email (ending the old link) once the trip is open."""
    if vehicle_id is None and driver_id is None:
        raise ValidationFailed(
            "send vehicle_id, driver_id or both",
            errors={"vehicle_id": ["send vehicle_id, driver_id or both"]},
        )
    if trip.status not in ASSIGNABLE:
        raise Conflict(f"a {trip.status} trip takes no more assignments")
    warnings: list[tuple[str, dict]] = []
    vehicle = _own(session, Vehicle, operator_id, vehicle_id, "vehicle_id") if vehicle_id else None
    driver = (
        _own(session, OperatorDriver, operator_id, driver_id, "driver_id") if driver_id else None
    )
    if vehicle is not None:
        if not vehicle.active:
            raise ValidationFailed.field("vehicle_id", "this vehicle is not in service")
        # One conditional UPDATE, so a pledge taken meanwhile cannot slip past the check.
        fits = session.execute(
            update(Trip)
            .where(
                Trip.id == trip.id,
                Trip.status.in_(ASSIGNABLE),
                Trip.seats_pledged + Trip.seats_held <= vehicle.seats,
            )
            .values(vehicle_id=vehicle.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.refresh(trip)
        if fits != 1:
            raise Conflict(
                f"{vehicle.name} has {vehicle.seats} seats but {trip.seats_pledged} are pledged"
            )
        if vehicle.seats < trip.capacity:
            values = {"vehicle": vehicle.name, "seats": vehicle.seats, "capacity": trip.capacity}
            warnings.append(("vehicle_below_capacity", values))
    if driver is not None and driver.id != trip.driver_id:
        trip.driver_id = driver.id
        if trip.status == "draft":
            warnings.append(("link_when_open", {}))
        else:
            reissue_driver_link(session, operator_id, trip, actor=actor, now=now)
            if not driver.email:
                warnings.append(("driver_without_email", {"driver": driver.name}))
    session.flush()
    return warnings


def reissue_driver_link(
    session: Session, operator_id: str, trip: Trip, *, actor: str, now=None
) -> checkin.DriverLink:
    """A new check-in link for the trip (the old one ends), emailed to the assigned driver if
    they have an address; returns it (the operator may pass it on itself)."""
    if trip.status not in ASSIGNABLE:
        raise Conflict(f"a {trip.status} trip has no driver link to issue")
    link = checkin.new_driver_link(session, trip, actor=actor, now=now)
    driver = session.get(OperatorDriver, trip.driver_id) if trip.driver_id else None
    if driver is not None and driver.operator_id == operator_id and driver.email:
        checkin.email_driver_link(session, trip, driver.email, actor=actor)
    return link
