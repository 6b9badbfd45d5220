"""Stops from the riders in the widget: `POST /w/<partner>/api/trips/<id>/stop_requests` (JSON,
rate limited like every widget write). The rules are in domain/stop_requests.py."""

from __future__ import annotations

from flask import g, jsonify
from marshmallow import RAISE, Schema, fields, validate

from widget_server.domain import stop_requests
from widget_server.domain.text import Email, Text
from widget_server.extensions import db, limiter
from widget_server.i18n import SUPPORTED_LOCALES
from widget_server.widget.api import _write_limit, load_json
from widget_server.widget.api import bp as api_bp


class StopRequestInput(Schema):
    class Meta:
        unknown = RAISE

    place = Text(required=True, min_length=1, max_length=200)
    address = Text(required=True, min_length=1, max_length=500)
    email = Email(required=True)
    locale = fields.String(load_default=None, validate=validate.OneOf(SUPPORTED_LOCALES))


def _record(trip_id: str, data: dict):
    with db.transaction() as session:
        return stop_requests.request_stop(
            session,
            g.partner,
            trip_id,
            place=data["place"],
            address=data["address"],
            email=data["email"],
            locale=data["locale"] or g.partner.locale,
        )


@api_bp.post("/trips/<trip_id>/stop_requests")
@limiter.limit(_write_limit)
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
