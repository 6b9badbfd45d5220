"""The portal's trips: every trip awarded to the operator (all partners) as phone-first cards,
and a trip's page: the manifest per stop, assigning a vehicle and a driver, the driver's link.
A trip not awarded to the operator is 404 (`operator_trips.operator_trip`)."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from widget_server.backoffice.messages import console_message
from widget_server.domain.errors import DomainError, ValidationFailed
from widget_server.domain.operators import operator_trips
from widget_server.extensions import db
from widget_server.i18n import format_local
from widget_server.models import OperatorDriver, Trip, Vehicle
from widget_server.operator import bp
from widget_server.operator.auth import actor, requires

# The words of the domain's assignment warnings (operator_trips.WARNINGS), translated.
WARNINGS = {
    "vehicle_below_capacity": lambda v: _(
        "%(vehicle)s has %(seats)s seats but the trip sells up to %(capacity)s: ask the partner"
        " to lower the capacity.",
        **v,
    ),
    "link_when_open": lambda v: _(
        "The driver gets the check-in link once the partner opens the trip."
    ),
    "driver_without_email": lambda v: _(
        "%(driver)s has no email address: give them the check-in link yourself.", **v
    ),
}
# The newest trips a page shows (an operator runs tens a season, not thousands).
PAGE_SIZE = 200


def _time(moment, trip: Trip) -> str:
    """A time of the trip in its event's zone, in the page's language."""
    return format_local(moment, trip.event.timezone, "short") if moment else "—"


@bp.get("/trips")
@requires("view")
def trips():
    """The operator's trips, newest first, one card each."""
    rows = db.session.scalars(
        operator_trips.trips_query(g.operator.id).order_by(Trip.id.desc()).limit(PAGE_SIZE)
    ).all()
    return render_template("operator/trips.html", trips=rows, trip_time=_time)


def trip_page(trip: Trip, *, errors: dict | None = None, status: int = 200):
    """A trip's page; `errors` of the assignment form."""
    manifest = operator_trips.operator_manifest(
        db.session, trip, secret=current_app.config["SECRET_KEY"]
    )
    vehicles = db.session.scalars(
        select(Vehicle)
        .where(Vehicle.operator_id == g.operator.id, Vehicle.active.is_(True))
        .order_by(Vehicle.name)
    ).all()
    drivers = db.session.scalars(
        select(OperatorDriver)
        .where(OperatorDriver.operator_id == g.operator.id)
        .order_by(OperatorDriver.name)
    ).all()
    page = render_template(
        "operator/trip.html",
        trip=trip,
        manifest=manifest,
        vehicles=vehicles,
        drivers=drivers,
        errors=errors or {},
        assignable=trip.status in operator_trips.ASSIGNABLE,
        trip_time=_time,
    )
    return page, status


@bp.get("/trips/<trip_id>")
@requires("view")
def trip(trip_id: str):
    return trip_page(operator_trips.operator_trip(db.session, g.operator.id, trip_id))


@bp.post("/trips/<trip_id>/assignment")
@requires("dispatch")
def assign_trip(trip_id: str):
    """The assignment form: a vehicle and/or a driver (empty: unchanged)."""
    trip = operator_trips.operator_trip(db.session, g.operator.id, trip_id)
    try:
        with db.transaction() as session:
            warnings = operator_trips.assign(
                session,
                g.operator.id,
                trip,
                vehicle_id=request.form.get("vehicle_id") or None,
                driver_id=request.form.get("driver_id") or None,
                actor=actor(),
            )
    except ValidationFailed as exc:
        db.session.rollback()
        return trip_page(trip, errors=exc.errors, status=422)
    except DomainError as exc:
        db.session.rollback()
        flash(console_message(exc.detail))
        return redirect(url_for("operator.trip", trip_id=trip.id, _anchor="assign-h"))
    flash(_("The assignment is saved."))
    for code, values in warnings:
        flash(WARNINGS[code](values))
    return redirect(url_for("operator.trip", trip_id=trip.id, _anchor="assign-h"))


@bp.post("/trips/<trip_id>/driver_link")
@requires("dispatch")
def reissue_driver_link(trip_id: str):
    """A new driver link (the old one ends), emailed to the assigned driver."""
    trip = operator_trips.operator_trip(db.session, g.operator.id, trip_id)
    try:
        with db.transaction() as session:
            operator_trips.reissue_driver_link(session, g.operator.id, trip, actor=actor())
    except DomainError as exc:
        db.session.rollback()
        flash(console_message(exc.detail))
    else:
        flash(_("A new driver link is ready; the old one no longer works."))
    return redirect(url_for("operator.trip", trip_id=trip.id, _anchor="driver-link-h"))
