"""Events: `GET/POST /v1/events`, `GET/PATCH/DELETE /v1/events/{id}`."""

from flask import g
from sqlalchemy import select

from widget_server.api.common import (
    Blueprint,
    ListArgs,
    actor,
    created,
    list_schema,
    owned,
    page,
    problem_doc,
    protected,
)
from widget_server.api.events.schemas import EventCreateSchema, EventUpdateSchema
from widget_server.domain import catalog
from widget_server.domain.sponsors import apply_sponsor_change, take_sponsor_change
from widget_server.extensions import db
from widget_server.models import Event
from widget_server.representations import EventSchema

blp = Blueprint("events", __name__, url_prefix="/v1/events", description="Games and shows.")
EventList = list_schema(EventSchema, "EventList")


@blp.get("")
@protected(blp, "events:read", not_found=False)
@blp.arguments(ListArgs, location="query")
@blp.response(200, EventList)
def list_events(args):
    """List events, newest first."""
    query = select(Event).where(Event.partner_id == g.partner.id)
    return page(query, Event.id, limit=args["limit"], cursor=args["cursor"])


@blp.post("")
@protected(blp, "events:write", not_found=False)
@blp.arguments(EventCreateSchema)
@blp.response(201, EventSchema)
@created("/v1/events/{id}")
def create_event(data):
    """Create an event.

    Rules the schema cannot express (a 422 naming the field): `starts_at` lies within the
    window the API accepts (from now to a few years ahead; see docs/api.md)."""
    sponsor = take_sponsor_change(data)
    with db.transaction() as session:
        event = catalog.create_event(session, g.partner, actor=actor(), **data)
        apply_sponsor_change(session, event, sponsor, actor=actor())
        return event


@blp.get("/<event_id>")
@protected(blp, "events:read")
@blp.response(200, EventSchema)
def get_event(event_id):
    """Retrieve an event."""
    return owned(Event, event_id)


@blp.patch("/<event_id>")
@protected(blp, "events:write")
@blp.arguments(EventUpdateSchema)
@blp.response(200, EventSchema)
def update_event(data, event_id):
    """Update an event's title, venue, start or time zone.

    Rules the schema cannot express (a 422 naming the field): `starts_at` lies within the
    accepted window and after every departure of the event's trips. An empty body changes
    nothing."""
    sponsor = take_sponsor_change(data)
    with db.transaction() as session:
        event = catalog.update_event(session, owned(Event, event_id), data, actor=actor())
        apply_sponsor_change(session, event, sponsor, actor=actor())
        return event


@blp.delete("/<event_id>")
@protected(blp, "events:write")
@blp.response(204)
@problem_doc(blp, 409, "The event has trips")
def delete_event(event_id):
    """Delete an event that has no trips (cancel and delete its trips first)."""
    with db.transaction() as session:
        catalog.delete_event(session, owned(Event, event_id), actor=actor())
