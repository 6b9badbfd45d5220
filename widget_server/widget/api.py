"""The widget JSON API (`/w/<partner>/api/...`), used by the widget's own pages.

Public: no fan data except the fan's own pledge, reached through its signed manage token.
Rate limited (see `ratelimits`: per address, per fan email, per card). GETs carry ETags
(If-None-Match answers 304, which costs no read budget), so the widget's live progress polling
costs next to nothing while nothing changes.

Writes need `Content-Type: application/json` (a cross-site HTML form cannot send it, and a
cross-site fetch() with it is stopped by the CORS preflight we never answer) and are refused
when the browser says they come from another site (`Sec-Fetch-Site`). No cookie is involved, so
a forged request would carry no fan's authority anyway: see docs/embed.md, "Security".
"""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, current_app, g, jsonify, request
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, validate, validates_schema

from widget_server import idempotency, ratelimits, services
from widget_server.domain.errors import NotFound, ValidationFailed, field_errors
from widget_server.domain.limits import MAX_SEATS_PER_PLEDGE
from widget_server.domain.notify import ask_manage_links
from widget_server.domain.numbers import DigitsInteger, Integer
from widget_server.domain.pledges import fan_changes, placing, planning
from widget_server.domain.text import Id, Text
from widget_server.extensions import db
from widget_server.fan.links import manage_url, open_share_link, pledge_for
from widget_server.fan.render import partner_by_slug, preview_guard
from widget_server.fan.security import CrossSiteRefused, cross_site_request, require_json_body
from widget_server.fan.serializers import fan_pledge, price_json, public_event, public_trip
from widget_server.json_body import takes_no_body
from widget_server.models import Partner, Pledge
from widget_server.widget.common import (
    DemandInput,
    LinkRequest,
    PledgeInput,
    add_on_choices,
    place_demand,
    place_pledge,
    price_quote,
    replay_pledge_attempt,
    trips_for_event,
    upcoming_events,
)

bp = Blueprint("widget_api", __name__, url_prefix="/w/<partner_slug>/api")


# Public reads (trips, events) may be served by a CDN or a browser for this long, and used a
# little longer while revalidating: a second of staleness on a progress bar is fine.
PUBLIC_CACHE_CONTROL = "public, max-age=1, stale-while-revalidate=5"


# Routes that read only plain columns of the partner (its id, slug, locale, seat cap), never a
# relationship nor a change: they take the per-process copy, kept for a second (a query spared
# per request: the pledge is the hot write of game day). The other writes load it fresh.
_CACHED_PARTNER_WRITES = {"widget_api.create_pledge"}


bp.before_request(preview_guard)


@bp.url_value_preprocessor
def _load_partner(endpoint, values):
    slug = values.pop("partner_slug")
    if request.method == "GET" or endpoint in _CACHED_PARTNER_WRITES:
        g.partner = _public_cache().get_or_set(("partner", slug), lambda: _detached_partner(slug))
    else:
        g.partner = partner_by_slug(slug)
    if request.method in ("POST", "PATCH", "PUT", "DELETE"):
        if cross_site_request():
            raise CrossSiteRefused("the widget API only takes writes from the widget's own pages")
        require_json_body()


def _public_cache():
    return current_app.extensions["ridepledge.public_cache"]


def _detached_partner(slug: str) -> Partner:
    partner = partner_by_slug(slug)
    db.session.expunge(partner)  # shared read-only between requests; never added back
    return partner


@bp.after_request
def _etag(response):
    """Strong ETags on successful GETs; If-None-Match answers 304. Clients revalidate always,
    except on the public reads, which a CDN may keep for a second."""
    if request.method == "GET" and response.status_code == 200:
        response.headers.setdefault("Cache-Control", "no-cache")
        response.add_etag(overwrite=False)
        response.make_conditional(request)
    return response


def _cached_public_json(key: tuple, compute) -> Response:
    """A public JSON body from the per-process cache, with its ETag computed once."""

    def render() -> tuple[bytes, str]:
        body = json.dumps(compute(), separators=(",", ":"), ensure_ascii=False).encode()
        return body, hashlib.sha256(body).hexdigest()[:32]

    cache = _public_cache()
    body, etag = cache.get_or_set(key, render)
    response = Response(body, mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = PUBLIC_CACHE_CONTROL
    return response


class PledgeChange(Schema):
    """The fan's change of a pledge (`PATCH .../manage/<token>`): its stop, its seats, or both."""

    class Meta:
        unknown = RAISE

    stop_id = Id("stp", load_default=None)
    seats = Integer(load_default=None, validate=validate.Range(1, MAX_SEATS_PER_PLEDGE))

    @validates_schema
    def _something_to_change(self, data, **kwargs):
        if data["stop_id"] is None and data["seats"] is None:
            needed = "give stop_id, seats or both"
            raise ValidationError({"stop_id": [needed], "seats": [needed]})


class SeatsQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    seats = DigitsInteger(
        required=True,
        validate=validate.Range(1, MAX_SEATS_PER_PLEDGE),
        error_messages={"required": "is required"},
    )


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
@ratelimits.widget_read
def list_events():
    def compute() -> dict:
        events = upcoming_events(g.partner)
        return {"object": "list", "data": [public_event(event) for event in events]}

    return _cached_public_json(("events", g.partner.id), compute)


@bp.get("/trips")
@ratelimits.widget_read
def list_trips():
    """Trips to an event; with `near=<place>`, trips from that origin first, then by departure."""
    args = load_query(TripsQuery())
    event_id, near = args["event_id"], args["near"]

    def compute() -> dict:
        trips = trips_for_event(g.partner, event_id, near)
        return {"object": "list", "data": [public_trip(trip) for trip in trips]}

    return _cached_public_json(("trips", g.partner.id, event_id, near), compute)


@bp.get("/trips/<trip_id>")
@ratelimits.widget_read
def get_trip(trip_id: str):
    def compute() -> dict:
        trip = planning.get_trip(db.session, g.partner, trip_id)
        if trip.status == "draft":
            raise NotFound(f"no trip {trip_id}")
        return public_trip(trip)

    return _cached_public_json(("trip", g.partner.id, trip_id), compute)


class PriceQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    seats = DigitsInteger(load_default=1, validate=validate.Range(1, MAX_SEATS_PER_PLEDGE))
    stop_id = Id("stp", load_default=None)
    promo_code = Text(load_default=None, max_length=40)


@bp.get("/trips/<trip_id>/price")
@ratelimits.price_quote
def quote_price(trip_id: str):
    """What a pledge of `seats` seats costs now, with `promo_code` (an unusable code: a 422
    naming `promo_code`, with why) and the extras chosen (`add_ons.<id>=<quantity>`): the
    total the form shows before the card is saved."""
    args = load_query(PriceQuery())
    choices = add_on_choices(request.args)
    return jsonify(price_quote(g.partner, trip_id, args["seats"], args["promo_code"], choices))


@bp.post("/trips/<trip_id>/pledges")
@ratelimits.pledge_write
def create_pledge(trip_id: str):
    """A fan's pledge. With an `Idempotency-Key` (widget.js sends one per attempt) a repeat
    answers the first answer again and creates nothing; without one (an embed older than the
    key) the pledge is simply made."""
    key = idempotency.key_from(request.headers.get(idempotency.HEADER))
    replay = replay_pledge_attempt(g.partner, key)
    if replay is not None:
        return replay
    pledge = place_pledge(g.partner, trip_id, load_json(PledgeInput()))
    body = {
        "pledge": fan_pledge(pledge),
        "manage_url": manage_url(g.partner.slug, pledge.id),
        "share_url": open_share_link(g.partner, pledge),
    }
    return jsonify(body), 201


@bp.post("/demand")
@ratelimits.widget_write
@ratelimits.per_fan
def request_trip():
    return jsonify(place_demand(g.partner, load_json(DemandInput()))), 201


@bp.post("/trips/<trip_id>/manage_links")
@ratelimits.widget_write
@ratelimits.per_fan
def send_manage_links(trip_id: str):
    """ "Email me my link": 202 and the same body whether or not the fan has a pledge on the
    trip (or the trip exists), so the answer tells nobody who pledged."""
    data = load_json(LinkRequest())
    with db.transaction() as session:
        ask_manage_links(session, g.partner, trip_id, data["email"])
    return jsonify({"object": "manage_links", "status": "sent_if_pledged"}), 202


def _manage_view(pledge: Pledge):
    return jsonify(
        {
            "pledge": fan_pledge(pledge),
            "trip": public_trip(pledge.trip),
            "can_withdraw": fan_changes.can_withdraw(pledge),
            "can_change_stop": fan_changes.can_change_stop(pledge),
            "can_change_seats": fan_changes.can_change_seats(pledge),
            "can_update_card": pledge.status == "action_required",
            "share_url": open_share_link(g.partner, pledge),
        }
    )


@bp.get("/manage/<token>")
@ratelimits.widget_read
def manage(token: str):
    return _manage_view(pledge_for(token))


@bp.patch("/manage/<token>")
@ratelimits.widget_write
def change_pledge(token: str):
    """The fan moves the pledge to another stop and/or changes its seats (re-priced: see
    `quote_seats` for the new price before), in one transaction: all of it or nothing."""
    data = load_json(PledgeChange())
    with db.transaction() as session:
        pledge = pledge_for(token)
        if data["seats"] is not None:
            fan_changes.change_seats(session, pledge, data["seats"])
        if data["stop_id"] is not None:
            fan_changes.change_stop(session, pledge, data["stop_id"])
    return _manage_view(pledge)


@bp.get("/manage/<token>/quote")
@ratelimits.price_quote
def quote_seats(token: str):
    """What the pledge would cost with `seats` seats (the widget shows it before the fan
    confirms the change), and what it costs now (`previous_seats`, `previous_amount`); the
    same refusals as the change itself (422 on `seats`, 409 when it cannot change or the seats
    are not there). Saves nothing."""
    seats = load_query(SeatsQuery())["seats"]
    pledge = pledge_for(token)
    price = fan_changes.preview_seats_change(db.session, pledge, seats)
    body = price_json(price)
    body.update(previous_seats=pledge.seats, previous_amount=pledge.amount)
    return jsonify(body)


@bp.post("/manage/<token>/cancel")
@ratelimits.widget_write
@takes_no_body
def withdraw(token: str):
    with db.transaction() as session:
        pledge = fan_changes.withdraw_pledge(session, pledge_for(token))
    return _manage_view(pledge)


@bp.post("/manage/<token>/payment_method")
@ratelimits.widget_write
@ratelimits.per_card
def update_card(token: str):
    """The fan fixes the card of an action_required pledge; it is charged again at once."""
    data = load_json(CardUpdate())
    pledge_id = pledge_for(token).id
    return _manage_view(
        placing.replace_card(services.payments(), pledge_id, data["payment_method"])
    )
