"""Trips: create with stops, open, cancel, manifest (JSON or CSV)."""

from flask import Response, g, request
from sqlalchemy import select

from widget_server.api.common import (
    Blueprint,
    actor,
    created,
    list_schema,
    owned,
    page,
    problem_doc,
    protected,
)
from widget_server.api.trips.schemas import (
    ManifestSchema,
    TripCreateSchema,
    TripListArgs,
    TripUpdateSchema,
)
from widget_server.domain import catalog, settlement
from widget_server.domain.errors import ValidationFailed
from widget_server.domain.manifest import build_manifest, manifest_csv
from widget_server.extensions import db
from widget_server.models import Event, Trip
from widget_server.representations import TripSchema

blp = Blueprint("trips", __name__, url_prefix="/v1/trips", description="Buses to an event.")
TripList = list_schema(TripSchema, "TripList")


@blp.get("")
@protected(blp, "trips:read", not_found=False)
@blp.arguments(TripListArgs, location="query")
@blp.response(200, TripList)
def list_trips(args):
    """List trips, newest first; filter by `event_id` and `status`."""
    query = select(Trip).where(Trip.partner_id == g.partner.id)
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
        return settlement.cancel_trip(session, owned(Trip, trip_id), actor=actor())


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
    data = build_manifest(db.session, owned(Trip, trip_id))
    if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
        return _csv(data)
    return data


def _csv(data: dict) -> Response:
    filename = f"manifest-{data['trip_id']}.csv"
    return Response(
        manifest_csv(data),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
