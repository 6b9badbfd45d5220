"""Add-ons of a trip: `GET/POST /v1/trips/{id}/add_ons`,
`GET/PATCH /v1/trips/{id}/add_ons/{add_on_id}` (rules: domain/pricing/add_ons.py)."""

from widget_server.api.add_ons.schemas import (
    AddOnCreateSchema,
    AddOnListSchema,
    AddOnUpdateSchema,
)
from widget_server.api.common import (
    Blueprint,
    actor,
    created,
    found_first,
    owned,
    problem_doc,
    protected,
)
from widget_server.domain.errors import NotFound
from widget_server.domain.pricing.add_ons import create_add_on, update_add_on
from widget_server.extensions import db
from widget_server.models import AddOn, Trip
from widget_server.representations import AddOnSchema

blp = Blueprint(
    "add_ons", __name__, url_prefix="/v1/trips", description="Extras sold with a trip's seats."
)


def _add_on(trip_id: str, add_on_id: str, **_) -> AddOn:
    add_on = owned(AddOn, add_on_id)
    if add_on.trip_id != owned(Trip, trip_id).id:
        raise NotFound(f"no add_on {add_on_id}")
    return add_on


@blp.get("/<trip_id>/add_ons")
@protected(blp, "trips:read")
@blp.response(200, AddOnListSchema)
def list_add_ons(trip_id):
    """The trip's add-ons, oldest first (turned-off ones included)."""
    return {"data": owned(Trip, trip_id).add_ons}


@blp.post("/<trip_id>/add_ons")
@protected(blp, "trips:write")
@found_first(lambda trip_id, **_: owned(Trip, trip_id))
@blp.arguments(AddOnCreateSchema)
@blp.response(201, AddOnSchema)
@problem_doc(blp, 422, "Invalid fields, or the trip has the most add-ons it may")
@created("/v1/trips/{trip_id}/add_ons/{id}")
def create_trip_add_on(data, trip_id):
    """Add an extra to the trip (in the trip's currency); fans can choose it at once."""
    with db.transaction() as session:
        return create_add_on(session, owned(Trip, trip_id), data, actor=actor())


@blp.get("/<trip_id>/add_ons/<add_on_id>")
@protected(blp, "trips:read")
@blp.response(200, AddOnSchema)
def get_add_on(trip_id, add_on_id):
    """Retrieve an add-on with what is sold and left."""
    return _add_on(trip_id, add_on_id)


@blp.patch("/<trip_id>/add_ons/<add_on_id>")
@protected(blp, "trips:write")
@found_first(_add_on)
@blp.arguments(AddOnUpdateSchema)
@blp.response(200, AddOnSchema)
@problem_doc(blp, 422, "Invalid fields, or `quantity` below the units sold")
def update_trip_add_on(data, trip_id, add_on_id):
    """Change an add-on's name, price or quantity, or turn it off (`active: false`). Pledges
    already made keep what they bought. An empty body changes nothing."""
    with db.transaction() as session:
        return update_add_on(session, _add_on(trip_id, add_on_id), data, actor=actor())
