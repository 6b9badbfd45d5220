"""The widget JSON API (`/w/<partner>/api/...`), used by the widget's own pages.

Public: no fan data except the fan's own pledge, reached through its signed manage token.
Rate limited per client address. GETs carry ETags (If-None-Match answers 304), so the widget's
live progress polling costs next to nothing while nothing changes.

Writes need `Content-Type: application/json` (a cross-site HTML form cannot send it, and a
cross-site fetch() with it is stopped by the CORS preflight we never answer) and are refused
when the browser says they come from another site (`Sec-Fetch-Site`). No cookie is involved, so
a forged request would carry no fan's authority anyway: see docs/embed.md, "Security".
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import select

from widget_server.domain import pledging
from widget_server.domain.demand import record_demand
from widget_server.domain.errors import NotFound, ValidationFailed, field_errors
from widget_server.domain.numbers import Integer
from widget_server.domain.text import Email, Id, Phone, Text
from widget_server.extensions import db, limiter
from widget_server.i18n import SUPPORTED_LOCALES
from widget_server.jobs import tasks
from widget_server.json_body import takes_no_body
from widget_server.models import Event, Partner, Pledge, Trip
from widget_server.models.types import utcnow
from widget_server.widget.links import manage_url, pledge_for
from widget_server.widget.render import partner_by_slug
from widget_server.widget.security import CrossSiteRefused, cross_site_request
from widget_server.widget.serializers import fan_pledge, public_event, public_trip
from widget_server.widget.trip_state import PUBLIC_TRIP_STATUSES

bp = Blueprint("widget_api", __name__, url_prefix="/w/<partner_slug>/api")


def _read_limit() -> str:
    return current_app.config.get("RATELIMIT_WIDGET_READ", "300 per minute")


def _write_limit() -> str:
    return current_app.config.get("RATELIMIT_WIDGET_WRITE", "20 per minute;200 per hour")


@bp.url_value_preprocessor
def _load_partner(_endpoint, values):
    g.partner = partner_by_slug(values.pop("partner_slug"))
    if request.method != "GET" and cross_site_request():
        raise CrossSiteRefused("the widget API only takes writes from the widget's own pages")


@bp.after_request
def _etag(response):
    """Strong ETags on successful GETs; If-None-Match answers 304. Clients revalidate always."""
    if request.method == "GET" and response.status_code == 200:
        response.headers["Cache-Control"] = "no-cache"
        response.add_etag()
        response.make_conditional(request)
    return response


class PledgeInput(Schema):
    class Meta:
        unknown = RAISE

    stop_id = Id("stp", required=True)
    seats = Integer(required=True, validate=validate.Range(1, 10))
    name = Text(required=True, max_length=200)
    email = Email(required=True)
    payment_method = Text(required=True, max_length=255)
    phone = Phone(load_default=None, allow_none=True)
    locale = Text(load_default=None, validate=validate.OneOf(SUPPORTED_LOCALES))
    attribution = fields.Dict(
        keys=Text(max_length=24, validate=validate.Regexp(r"^utm_[a-z]{1,20}$")),
        values=Text(max_length=200),
        load_default=dict,
        validate=validate.Length(max=10),
    )


class DemandInput(Schema):
    class Meta:
        unknown = RAISE

    event_id = Id("evt", required=True)
    origin = Text(required=True, max_length=200)
    email = Email(required=True)
    locale = Text(load_default=None, validate=validate.OneOf(SUPPORTED_LOCALES))


class StopChange(Schema):
    class Meta:
        unknown = RAISE

    stop_id = Id("stp", required=True)


class CardUpdate(Schema):
    class Meta:
        unknown = RAISE

    payment_method = Text(required=True, max_length=255)


class TripsQuery(Schema):
    class Meta:
        unknown = EXCLUDE  # cache busters and tracking parameters are harmless here

    event_id = Id("evt", required=True, error_messages={"required": "is required"})
    near = Text(load_default=None, max_length=200)


def load_query(schema: Schema) -> dict:
    """The query string loaded by `schema`, or a 422 naming every bad parameter."""
    try:
        return schema.load(request.args)
    except ValidationError as exc:
        raise ValidationFailed(
            "some parameters are missing or invalid", errors=field_errors(exc.messages)
        ) from exc


def load_json(schema: Schema) -> dict:
    """The request's JSON body loaded by `schema`, or a 422 naming every bad field. The body is
    read by the app's strict JSON parser (`widget_server.json_body`): 415/400/413 problems."""
    body = request.get_json()
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object", errors={"_body": ["not JSON"]})
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise ValidationFailed(
            "some fields are missing or invalid", errors=field_errors(exc.messages)
        ) from exc


@bp.get("/events")
@limiter.limit(_read_limit)
def list_events():
    events = upcoming_events(g.partner)
    return jsonify({"object": "list", "data": [public_event(event) for event in events]})


def upcoming_events(partner: Partner) -> list[Event]:
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.partner_id == partner.id, Event.starts_at > utcnow())
            .order_by(Event.starts_at)
        )
    )


@bp.get("/trips")
@limiter.limit(_read_limit)
def list_trips():
    """Trips to an event; with `near=<place>`, trips from that origin first, then by departure."""
    args = load_query(TripsQuery())
    trips = trips_for_event(g.partner, args["event_id"], args["near"])
    return jsonify({"object": "list", "data": [public_trip(trip) for trip in trips]})


def trips_for_event(partner: Partner, event_id: str, near: str | None = None) -> list[Trip]:
    """The public trips to an event: from `near` first (origin name contains it), then by
    departure."""
    trips = list(
        db.session.scalars(
            select(Trip).where(
                Trip.partner_id == partner.id,
                Trip.event_id == event_id,
                Trip.status.in_(PUBLIC_TRIP_STATUSES),
            )
        )
    )
    needle = (near or "").strip().casefold()
    trips.sort(
        key=lambda t: (bool(needle) and needle not in t.origin_name.casefold(), t.departs_at)
    )
    return trips


@bp.get("/trips/<trip_id>")
@limiter.limit(_read_limit)
def get_trip(trip_id: str):
    trip = pledging.get_trip(db.session, g.partner, trip_id)
    if trip.status == "draft":
        raise NotFound(f"no trip {trip_id}")
    return jsonify(public_trip(trip))


@bp.post("/trips/<trip_id>/pledges")
@limiter.limit(_write_limit)
def create_pledge(trip_id: str):
    pledge = place_pledge(g.partner, trip_id, load_json(PledgeInput()))
    body = {"pledge": fan_pledge(pledge), "manage_url": manage_url(g.partner.slug, pledge.id)}
    return jsonify(body), 201


def place_pledge(partner: Partner, trip_id: str, data: dict) -> Pledge:
    """Create a pledge from loaded `PledgeInput` data (see `tasks.place_pledge`: the card is
    saved with no transaction open; on a confirmed trip the seats are charged at once). Used by
    the JSON API and the widget's no-JS form."""
    data["locale"] = data.get("locale") or partner.locale
    return tasks.place_pledge(partner.id, trip_id, pledging.PledgeRequest(**data))


@bp.post("/demand")
@limiter.limit(_write_limit)
def request_trip():
    return jsonify(place_demand(g.partner, load_json(DemandInput()))), 201


def place_demand(partner: Partner, data: dict) -> dict:
    """Record a fan's request for a trip (loaded `DemandInput` data); returns the API body."""
    with db.transaction() as session:
        signal, count = record_demand(
            session,
            partner,
            event_id=data["event_id"],
            origin=data["origin"],
            email=data["email"],
            locale=data.get("locale") or partner.locale,
        )
    return {"id": signal.id, "event_id": signal.event_id, "origin": signal.origin, "count": count}


def _manage_view(pledge: Pledge):
    return jsonify(
        {
            "pledge": fan_pledge(pledge),
            "trip": public_trip(pledge.trip),
            "can_withdraw": pledge.status == "pledged" and pledge.trip.status == "open",
            "can_change_stop": pledging.can_change_stop(pledge),
            "can_update_card": pledge.status == "action_required",
        }
    )


@bp.get("/manage/<token>")
@limiter.limit(_read_limit)
def manage(token: str):
    return _manage_view(pledge_for(token))


@bp.patch("/manage/<token>")
@limiter.limit(_write_limit)
def change_stop(token: str):
    data = load_json(StopChange())
    with db.transaction() as session:
        pledge = pledging.change_stop(session, pledge_for(token), data["stop_id"])
    return _manage_view(pledge)


@bp.post("/manage/<token>/cancel")
@limiter.limit(_write_limit)
@takes_no_body
def withdraw(token: str):
    with db.transaction() as session:
        pledge = pledging.withdraw_pledge(session, pledge_for(token))
    return _manage_view(pledge)


@bp.post("/manage/<token>/payment_method")
@limiter.limit(_write_limit)
def update_card(token: str):
    """The fan fixes the card of an action_required pledge; it is charged again at once."""
    data = load_json(CardUpdate())
    return _manage_view(tasks.replace_card(pledge_for(token).id, data["payment_method"]))
