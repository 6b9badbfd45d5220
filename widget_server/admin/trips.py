"""Trips: create and edit with their stops, open, cancel (saying exactly whose money goes
back), the trip page with its pledges and manifest, CSV export, canceling one pledge."""

from __future__ import annotations

from flask import (
    Response,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from widget_server import services
from widget_server.admin import bp
from widget_server.admin.auth import actor, owned, requires
from widget_server.admin.helpers import STATUS_NAMES, act
from widget_server.admin.schemas import MAX_STOPS, local_input, price_input, read_trip
from widget_server.backoffice.messages import console_message
from widget_server.domain import catalog, trip_reports
from widget_server.domain.errors import DomainError
from widget_server.domain.manifest import build_manifest, manifest_csv
from widget_server.domain.pledges import charging, sales, trip_outcomes
from widget_server.domain.referrals import referral_counts, referrer_names
from widget_server.domain.text import clean_text
from widget_server.extensions import db
from widget_server.models import Event, Pledge, Trip


def _trip_values(trip: Trip) -> dict:
    zone = trip.event.timezone
    values = {
        "origin.name": trip.origin_name,
        "origin.region": trip.origin_region or "",
        "capacity": trip.capacity,
        "min_riders": trip.min_riders,
        "price": price_input(trip.unit_amount, trip.currency),
        "pledge_deadline": local_input(trip.pledge_deadline, zone),
        "operator.name": trip.operator_name or "",
        "operator.phone": trip.operator_phone or "",
        "operator.email": trip.operator_email or "",
    }
    for index, stop in enumerate(trip.stops):
        values[f"stops.{index}.name"] = stop.name
        values[f"stops.{index}.address"] = stop.address
        values[f"stops.{index}.departs_at"] = local_input(stop.departs_at, zone)
    return values


def _errors(exc: DomainError) -> dict:
    return exc.errors or {"_form": [exc.detail]}


def _form_page(event: Event, trip: Trip | None, values: dict, errors: dict):
    editable = None if trip is None else catalog.changeable_fields(trip)
    page = render_template(
        "admin/trip_form.html",
        event=event,
        trip=trip,
        values=values,
        errors=errors,
        max_stops=MAX_STOPS,
        editable=editable,
        currency=trip.currency if trip else g.partner.currency,
    )
    return page, 422 if errors else 200


def _prefill(origin: str | None) -> tuple[dict, dict]:
    """A new trip's starting values; from the demand page, `origin` (what fans asked for) names
    the trip's origin and its first stop."""
    values = {"capacity": 40, "min_riders": 20}
    if not origin:
        return values, {}
    try:
        origin = clean_text(origin, max_length=200)
    except ValueError as exc:
        return values, {"origin.name": [str(exc)]}
    return {**values, "origin.name": origin, "stops.0.name": origin}, {}


@bp.route("/events/<event_id>/trips/new", methods=["GET", "POST"])
@requires("catalog")
def new_trip(event_id: str):
    """A new draft trip to `event` with its stops (`?origin=` prefills it); it opens from its
    page."""
    event = owned(Event, event_id)
    if request.method == "GET":
        return _form_page(event, None, *_prefill(request.args.get("origin")))
    try:
        data = read_trip(request.form, timezone=event.timezone, currency=g.partner.currency)
        with db.transaction() as session:
            trip = catalog.create_trip(session, g.partner, event, actor=actor(), **data)
    except DomainError as exc:
        return _form_page(event, None, request.form.to_dict(), _errors(exc))
    flash(_("Draft trip saved. Open it when it is ready for pledges."))
    return redirect(url_for("admin.trip", trip_id=trip.id))


@bp.get("/trips/<trip_id>/edit")
@requires("catalog")
def edit_trip(trip_id: str):
    trip = owned(Trip, trip_id)
    return _form_page(trip.event, trip, _trip_values(trip), {})


@bp.post("/trips/<trip_id>/edit")
@requires("catalog")
def update_trip(trip_id: str):
    """Save a trip: anything while draft; operator, capacity and deadline once live."""
    trip = owned(Trip, trip_id)
    try:
        data = read_trip(request.form, timezone=trip.event.timezone, currency=trip.currency)
        allowed = catalog.changeable_fields(trip)
        if allowed is not None:  # the form sends every field; the read-only ones stay
            data = {key: value for key, value in data.items() if key in allowed}
        with db.transaction() as session:
            catalog.update_trip(session, trip, data, actor=actor())
    except DomainError as exc:
        db.session.rollback()
        return _form_page(trip.event, trip, request.form.to_dict(), _errors(exc))
    flash(_("Trip saved."))
    return redirect(url_for("admin.trip", trip_id=trip.id))


@bp.get("/trips/<trip_id>")
@requires("view")
def trip(trip_id: str):
    """The trip: progress, stops, actions, pledges (searchable) and the manifest per stop."""
    return trip_page(owned(Trip, trip_id))


def trip_page(trip: Trip, *, link_errors: dict | None = None, link_email: str = ""):
    """The trip page; `link_errors` (with the typed `link_email`) when emailing the driver link
    was refused (a 422 then)."""
    query = (request.args.get("q") or "").strip()[:200]
    pledges = trip_reports.find_pledges(db.session, trip, query or None)
    page = render_template(
        "admin/trip.html",
        trip=trip,
        event=trip.event,
        query=query,
        pledges=pledges,
        referrals=referral_counts(db.session, [p.id for p in pledges]),
        referrer_names=referrer_names(db.session, trip),
        manifest=build_manifest(db.session, trip, secret=current_app.config["SECRET_KEY"]),
        sale=sales.decide(trip),
        cancelable={"pledged", "action_required", "paid"},
        link_errors=link_errors or {},
        link_email=link_email,
    )
    return page, 422 if link_errors else 200


@bp.post("/trips/<trip_id>/open")
@requires("catalog")
def open_trip(trip_id: str):
    trip = owned(Trip, trip_id)
    act(
        lambda session: catalog.open_trip(session, trip, actor=actor()),
        _("The trip is open: fans can pledge until the deadline."),
    )
    return redirect(url_for("admin.trip", trip_id=trip.id))


@bp.get("/trips/<trip_id>/cancel")
@requires("catalog")
def confirm_cancel_trip(trip_id: str):
    """What canceling would do to whose money, before doing it."""
    trip = owned(Trip, trip_id)
    preview = trip_reports.cancel_preview(db.session, trip)
    return render_template("admin/trip_cancel.html", trip=trip, event=trip.event, preview=preview)


@bp.post("/trips/<trip_id>/cancel")
@requires("catalog")
def cancel_trip(trip_id: str):
    trip = owned(Trip, trip_id)
    act(
        lambda session: trip_outcomes.cancel_trip(session, trip, actor=actor()),
        _("The trip is canceled. Fans are told by email; refunds are on their way."),
    )
    return redirect(url_for("admin.trip", trip_id=trip.id))


@bp.get("/trips/<trip_id>/manifest.csv")
@requires("view")
def manifest_export(trip_id: str):
    """The manifest as CSV, one row per rider."""
    trip = owned(Trip, trip_id)
    manifest = build_manifest(db.session, trip, secret=current_app.config["SECRET_KEY"])
    return Response(
        manifest_csv(manifest),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="manifest-{trip.id}.csv"'},
    )


@bp.get("/pledges/<pledge_id>/cancel")
@requires("catalog")
def confirm_cancel_pledge(pledge_id: str):
    pledge = owned(Pledge, pledge_id)
    return render_template("admin/pledge_cancel.html", pledge=pledge, trip=pledge.trip)


@bp.post("/pledges/<pledge_id>/cancel")
@requires("catalog")
def cancel_pledge(pledge_id: str):
    """Cancel one pledge: unpaid ones are released, a paid one is refunded in full."""
    pledge = owned(Pledge, pledge_id)
    was_paid = pledge.status == "paid"
    try:
        charging.cancel_pledge(services.payments(), pledge.id, actor=actor())
    except DomainError as exc:
        flash(console_message(exc.detail))
    else:
        if was_paid:
            flash(_("The refund for %(name)s is on its way.", name=pledge.name))
        else:
            flash(_("The pledge of %(name)s is canceled.", name=pledge.name))
    return redirect(url_for("admin.trip", trip_id=pledge.trip_id))


@bp.get("/trips/progress")
@requires("view")
def trips_progress():
    """Live numbers of the partner's current trips, for the pages' small refresher script."""
    trips = db.session.scalars(
        select(Trip)
        .where(Trip.partner_id == g.partner.id, Trip.status.in_(("draft", "open", "confirmed")))
        .options(*sales.DECIDING)
    )
    return jsonify(
        {
            trip.id: {
                "seats_pledged": trip.seats_pledged,
                "seats_remaining": trip.seats_remaining,
                "seats_available": sales.decide(trip).seats_available,
                "capacity": trip.capacity,
                "min_riders": trip.min_riders,
                "status": trip.status,
                "status_label": str(STATUS_NAMES.get(trip.status, trip.status)),
            }
            for trip in trips
        }
    )
