"""Trips: create with stops, open, cancel, manifest (JSON or CSV)."""

from flask import Response, current_app, g, request
from sqlalchemy import select

from widget_server.api.common import (
    Blueprint,
    actor,
    created,
    list_schema,
    owned,
    owned_first,
    page,
    problem_doc,
    protected,
)
from widget_server.api.trips.schemas import (
    DriverLinkSchema,
    ManifestSchema,
    StopInput,
    StopRequestListSchema,
    TripCreateSchema,
    TripListArgs,
    TripUpdateSchema,
    WaitlistListSchema,
)
from widget_server.domain import catalog, checkin, stop_requests
from widget_server.domain.errors import ValidationFailed
from widget_server.domain.manifest import build_manifest, manifest_csv
from widget_server.domain.pledges import sales, trip_outcomes
from widget_server.extensions import db
from widget_server.models import Event, Trip, WaitlistEntry
from widget_server.representations import TripSchema

blp = Blueprint("trips", __name__, url_prefix="/v1/trips", description="Buses to an event.")
TripList = list_schema(TripSchema, "TripList")


@blp.get("")
@protected(blp, "trips:read", not_found=False)
@blp.arguments(TripListArgs, location="query")
@blp.response(200, TripList)
def list_trips(args):
    """List trips, newest first; filter by `event_id` and `status`."""
    # Stops and the sale decision's waitlist figure in the same round trips (no query per trip).
    query = select(Trip).where(Trip.partner_id == g.partner.id).options(*sales.DECIDING)
    if args["event_id"]:
        query = query.where(Trip.event_id == args["event_id"])
    if args["status"]:
        query = query.where(Trip.status == args["status"])
    return page(query, Trip.id, limit=args["limit"], cursor=args["cursor"])


@blp.post("")
@protected(blp, "trips:write", not_found=False)
@blp.arguments(TripCreateSchema)
@blp.response(201, TripSchema)
@problem_doc(blp, 422, "Invalid fields")
@created("/v1/trips/{id}")
def create_trip(data):
    """Create a trip with its stops. It starts as `draft`; open it with `/open`.

    Rules the schema cannot express (a 422 naming the field): `event_id` is one of your
    events; `min_riders` <= `capacity`; stops are in order of departure; `pledge_deadline` is
    before the first departure, which is before the event starts; times lie within the
    accepted window; `operator.phone` is a number a numbering plan knows (with the country
    code, or a US number)."""
    event = db.session.get(Event, data.pop("event_id"))
    if event is None or event.partner_id != g.partner.id:
        raise ValidationFailed.field("event_id", "no such event")
    data["currency"] = data["currency"] or g.partner.currency
    with db.transaction() as session:
        return catalog.create_trip(session, g.partner, event, actor=actor(), **data)


@blp.get("/<trip_id>")
@protected(blp, "trips:read")
@blp.response(200, TripSchema)
def get_trip(trip_id):
    """Retrieve a trip with its progress and stops."""
    return owned(Trip, trip_id)


@blp.patch("/<trip_id>")
@protected(blp, "trips:write")
@blp.arguments(TripUpdateSchema)
@blp.response(200, TripSchema)
@problem_doc(blp, 409, "Not allowed in this state")
def update_trip(data, trip_id):
    """Update a trip (see the schema for what each status allows).

    Rules the schema cannot express: the same as creating (a 422 naming the field), applied
    to the trip as it would be after the change; fields the trip's status does not allow to
    change are a 409; `capacity` never below the seats pledged (422). An empty body changes
    nothing."""
    with db.transaction() as session:
        return catalog.update_trip(session, owned(Trip, trip_id), data, actor=actor())


@blp.post("/<trip_id>/open")
@protected(blp, "trips:write")
@blp.response(200, TripSchema)
@problem_doc(blp, 409, "Not a draft")
@problem_doc(blp, 422, "The trip cannot open as it is (e.g. its pledge deadline has passed)")
def open_trip(trip_id):
    """Open a draft trip to pledges.

    A trip that is not a draft is a 409; one whose `pledge_deadline` has passed is a 422."""
    with db.transaction() as session:
        return catalog.open_trip(session, owned(Trip, trip_id), actor=actor())


@blp.post("/<trip_id>/cancel")
@protected(blp, "trips:write")
@blp.response(200, TripSchema)
@problem_doc(blp, 409, "Already over")
def cancel_trip(trip_id):
    """Cancel a trip: unpaid pledges are released, paid ones refunded."""
    with db.transaction() as session:
        return trip_outcomes.cancel_trip(session, owned(Trip, trip_id), actor=actor())


@blp.get("/<trip_id>/manifest")
@protected(blp, "trips:read")
@blp.response(
    200,
    ManifestSchema,
    content_type="application/json",
    description="JSON by default; `Accept: text/csv` gives one row per rider.",
)
def manifest(trip_id):
    """Who boards where: riders per stop (paid, or still pledged before confirmation)."""
    secret = current_app.config["SECRET_KEY"]
    data = build_manifest(db.session, owned(Trip, trip_id), secret=secret)
    if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
        return _csv(data)
    return data


@blp.get("/<trip_id>/stop_requests")
@protected(blp, "trips:read")
@blp.response(200, StopRequestListSchema)
def list_stop_requests(trip_id):
    """Pick-up stops fans asked for on this trip, counted per place, most asked first."""
    return {"data": stop_requests.requested_places(db.session, owned(Trip, trip_id))}


@blp.get("/<trip_id>/waitlist")
@protected(blp, "trips:read")
@blp.response(200, WaitlistListSchema)
def list_waitlist(trip_id):
    """The trip's waitlist in order of joining: who waits (with `position`), who holds an
    offer, and how earlier entries ended (`claimed` with its `pledge_id`, `expired`, ...)."""
    trip = owned(Trip, trip_id)
    entries = db.session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.trip_id == trip.id)
        .order_by(WaitlistEntry.position)
    ).all()
    data, waiting = [], 0
    for entry in entries:
        waiting += entry.status == "waiting"
        data.append(_with_position(entry, waiting if entry.status == "waiting" else None))
    return {"data": data}


def _with_position(entry: WaitlistEntry, position: int | None) -> dict:
    fields = ("id", "trip_id", "stop_id", "seats", "name", "email", "locale", "status")
    row = {name: getattr(entry, name) for name in fields}
    row.update(
        position=position,
        offered_at=entry.offered_at,
        offer_expires_at=entry.offer_expires_at,
        pledge_id=entry.pledge_id,
        created_at=entry.created_at,
    )
    return row


@blp.post("/<trip_id>/stops")
@protected(blp, "trips:write")
@owned_first(Trip, "trip_id")
@blp.arguments(StopInput)
@blp.response(201, TripSchema)
@problem_doc(blp, 409, "The trip is not open or confirmed")
def add_stop(data, trip_id):
    """Add a pick-up stop to an open or confirmed trip (in departure order). Fans who asked for
    this place and have a live pledge are emailed and can move their pledge to it."""
    with db.transaction() as session:
        trip = owned(Trip, trip_id)
        stop_requests.add_stop(session, trip, **data, actor=actor())
    return trip, 201, {"Location": f"/v1/trips/{trip.id}"}  # the trip, which now has the stop


@blp.post("/<trip_id>/driver_link")
@protected(blp, "trips:write")
@blp.response(201, DriverLinkSchema)
@problem_doc(blp, 409, "The trip is a draft")
def driver_link(trip_id):
    """Issue the driver's check-in link (no account needed); any older link stops working."""
    with db.transaction() as session:
        link = checkin.new_driver_link(session, owned(Trip, trip_id), actor=actor())
    token = checkin.driver_token(current_app.config["SECRET_KEY"], link)
    base = current_app.config["SETTINGS"].public_base_url
    url = f"{base}/d/{token}"
    body = {"object": "driver_link", "url": url, "expires_at": link.expires_at}
    return body, 201, {"Location": url}  # the link itself: the driver's page


@blp.delete("/<trip_id>/driver_link")
@protected(blp, "trips:write")
@blp.response(204)
def revoke_driver_link(trip_id):
    """End every driver link of the trip without issuing a new one."""
    with db.transaction() as session:
        checkin.revoke_driver_links(session, owned(Trip, trip_id), actor=actor())
    return ""


def _csv(data: dict) -> Response:
    filename = f"manifest-{data['trip_id']}.csv"
    return Response(
        manifest_csv(data),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
