"""Stops from the riders in the widget: `POST /w/<partner>/api/trips/<id>/stop_requests` (JSON)
and the trip page's small form (`POST /w/<partner>/trips/<id>/stop_requests`, no JavaScript
needed), both rate limited like every widget write. The rules are in domain/stop_requests.py."""

from __future__ import annotations

from flask import g, jsonify, redirect, request, url_for
from flask_babel import get_locale
from marshmallow import RAISE, Schema, ValidationError, validate

from widget_server import ratelimits
from widget_server.domain import stop_requests
from widget_server.domain.errors import DomainError, ValidationFailed
from widget_server.domain.text import Email, Text
from widget_server.extensions import db
from widget_server.fan import messages
from widget_server.fan.security import check_form_post
from widget_server.i18n import SUPPORTED_LOCALES
from widget_server.widget import pages
from widget_server.widget.api import bp as api_bp
from widget_server.widget.api import load_json
from widget_server.widget.blueprint import bp as pages_bp
from widget_server.widget.common import requesting_network


class StopRequestInput(Schema):
    class Meta:
        unknown = RAISE

    place = Text(required=True, min_length=1, max_length=200)
    address = Text(required=True, min_length=1, max_length=500)
    email = Email(required=True)
    locale = Text(load_default=None, validate=validate.OneOf(SUPPORTED_LOCALES))


def _record(trip_id: str, data: dict):
    with db.transaction() as session:
        return stop_requests.request_stop(
            session,
            g.partner,
            trip_id,
            place=data["place"],
            address=data["address"],
            email=data["email"],
            requester=requesting_network(),
            locale=data["locale"] or g.partner.locale,
        )


@api_bp.post("/trips/<trip_id>/stop_requests")
@ratelimits.widget_write
def request_stop(trip_id: str):
    """Ask for a pick-up stop: 201 with how many fans asked for this place."""
    req, count = _record(trip_id, load_json(StopRequestInput()))
    body = {
        "stop_request": {
            "id": req.id,
            "object": "stop_request",
            "trip_id": req.trip_id,
            "place": req.place,
            "address": req.address,
            "count": count,
        }
    }
    return jsonify(body), 201


@pages_bp.post("/trips/<trip_id>/stop_requests")
@ratelimits.widget_write
def send_stop_request(trip_id: str):
    """The trip page's "ask for a stop" form, without JavaScript: 303 back to the trip page
    saying how many fans asked for the place, or the page again with the fields to fix."""
    trip = pages._trip(trip_id)
    values = {key: request.form.get(key, "").strip() for key in ("place", "address", "email")}
    try:
        check_form_post(g.partner, f"stop_request:{trip.id}")
        data = StopRequestInput().load({**values, "locale": str(get_locale())})
        req, count = _record(trip.id, data)
    except ValidationError as exc:
        errors = pages._field_errors(exc.messages)
        return pages.trip_page(trip, values=values, errors=errors, status=422)
    except DomainError as exc:
        errors = pages._field_errors(exc.errors) if isinstance(exc, ValidationFailed) else {}
        problem = None if errors else messages.for_problem(exc)
        return pages.trip_page(
            trip, values=values, errors=errors, problem=problem, status=exc.status
        )
    done = url_for("widget_pages.trip", trip_id=trip.id, stop_place=req.place, stop_count=count)
    return redirect(f"{done}#stop-request", code=303)
