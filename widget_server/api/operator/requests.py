"""Quoting, for operators (bus companies): `GET /v1/operator/trip_requests` (open requests sent
to this operator), `GET /v1/operator/trip_requests/{id}`, `POST
/v1/operator/trip_requests/{id}/quotes`, `GET /v1/operator/quotes`, `GET/PATCH
/v1/operator/quotes/{id}`, `POST /v1/operator/quotes/{id}/withdraw`, and giving back an
awarded trip: `POST /v1/operator/trips/{id}/withdraw`.

A request the operator was not asked for (or, once awarded, did not win) is 404, as is another
operator's quote or a trip not awarded to it."""

from __future__ import annotations

import functools

from flask import g
from marshmallow import RAISE, Schema, validate

from widget_server.api.common import ListArgs, actor, list_schema, page, problem_doc
from widget_server.api.fields import AwareDateTime, Currency
from widget_server.api.operator import blp, operator_route
from widget_server.domain.errors import NotFound
from widget_server.domain.numbers import Integer
from widget_server.domain.operators import awards, marketplace
from widget_server.domain.text import Id, Text
from widget_server.extensions import db
from widget_server.models import Quote, Trip, TripRequest
from widget_server.models.operators import VEHICLE_KINDS
from widget_server.representations import OperatorQuoteSchema, OperatorTripRequestSchema

OperatorTripRequestList = list_schema(OperatorTripRequestSchema, "OperatorTripRequestList")
OperatorQuoteList = list_schema(OperatorQuoteSchema, "OperatorQuoteList")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _quote_fields(required: bool) -> dict:
    """A quote's fields; `required`: those a new quote must have."""
    return {
        "seats": Integer(
            validate=validate.Range(1, marketplace.MAX_SEATS),
            metadata={"description": "Seats for riders. Default: the vehicle's (`vehicle_id`)."},
        ),
        "amount": Integer(
            required=required,
            validate=validate.Range(1, marketplace.MAX_AMOUNT),
            metadata={"description": "Price of the bus, minor units (250000 = $2,500.00)."},
        ),
        "currency": Currency(required=required),
        "valid_until": AwareDateTime(
            required=required, metadata={"description": "Until when the price holds."}
        ),
        "vehicle_kind": Text(max_length=32, validate=validate.OneOf(VEHICLE_KINDS)),
        "vehicle_id": Id(
            "veh", allow_none=True, metadata={"description": "A vehicle of your fleet."}
        ),
        "notes": Text(max_length=2000, multiline=True, allow_none=True),
    }


QuoteCreateSchema = type("QuoteCreateSchema", (_Strict,), _quote_fields(required=True))
# Any of the quote's fields; an empty body changes nothing.
QuoteUpdateSchema = type("QuoteUpdateSchema", (_Strict,), _quote_fields(required=False))


def _request(trip_request_id: str) -> TripRequest:
    return marketplace.request_for_operator(db.session, g.operator, trip_request_id)


def _quote(quote_id: str) -> Quote:
    return marketplace.quote_of_operator(db.session, g.operator, quote_id)


@blp.get("/trip_requests")
@operator_route("requests:read", not_found=False)
@blp.arguments(ListArgs, location="query")
@blp.response(200, OperatorTripRequestList)
def list_operator_trip_requests(args):
    """Open requests you were asked to quote on, newest first."""
    query = marketplace.operator_requests_query(g.operator.id, open_only=True)
    return page(query, TripRequest.id, limit=args["limit"], cursor=args["cursor"])


@blp.get("/trip_requests/<trip_request_id>")
@operator_route("requests:read")
@blp.response(200, OperatorTripRequestSchema)
def get_operator_trip_request(trip_request_id):
    """A request you were asked to quote on (while open, or once your quote won)."""
    return _request(trip_request_id)


def _visible_first(view):
    """404 for a request or quote this operator may not see before the body is read, so a 422
    never tells it that the id exists."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if "trip_request_id" in kwargs:
            _request(kwargs["trip_request_id"])
        if "quote_id" in kwargs:
            _quote(kwargs["quote_id"])
        return view(*args, **kwargs)

    return wrapper


@blp.post("/trip_requests/<trip_request_id>/quotes")
@operator_route("quotes:write")
@_visible_first
@blp.arguments(QuoteCreateSchema)
@blp.response(201, OperatorQuoteSchema)
@problem_doc(blp, 409, "The request is no longer open, or you already have an open quote")
@problem_doc(blp, 422, "Invalid fields")
def create_quote(data, trip_request_id):
    """Quote on an open request: the partner is told (webhook `quote.created`).

    Rules the schema cannot express (a 422 naming the field): `seats` is required unless
    `vehicle_id` names one of your active vehicles (whose seats it then defaults to);
    `valid_until` is not after the departure. One open quote per request: revise it (`PATCH`)
    or withdraw it first (409)."""
    with db.transaction() as session:
        quote = marketplace.submit_quote(
            session, g.operator, _request(trip_request_id), actor=actor(), **data
        )
    return quote, 201, {"Location": f"/v1/operator/quotes/{quote.id}"}


@blp.get("/quotes")
@operator_route("requests:read", not_found=False)
@blp.arguments(ListArgs, location="query")
@blp.response(200, OperatorQuoteList)
def list_operator_quotes(args):
    """Your quotes, newest first, whatever became of them."""
    query = marketplace.operator_quotes_query(g.operator.id)
    return page(query, Quote.id, limit=args["limit"], cursor=args["cursor"])


@blp.get("/quotes/<quote_id>")
@operator_route("requests:read")
@blp.response(200, OperatorQuoteSchema)
def get_operator_quote(quote_id):
    """One of your quotes."""
    return _quote(quote_id)


@blp.patch("/quotes/<quote_id>")
@operator_route("quotes:write")
@_visible_first
@blp.arguments(QuoteUpdateSchema)
@blp.response(200, OperatorQuoteSchema)
@problem_doc(blp, 409, "The quote or its request is no longer open")
@problem_doc(blp, 422, "Invalid fields")
def revise_quote(data, quote_id):
    """Revise an open quote until the partner awards (webhook `quote.updated` to the partner).
    The same rules as quoting apply to the quote as it would be after the change."""
    with db.transaction() as session:
        return marketplace.revise_quote(session, _quote(quote_id), data, actor=actor())


@blp.post("/quotes/<quote_id>/withdraw")
@operator_route("quotes:write")
@blp.response(200, OperatorQuoteSchema)
@problem_doc(blp, 409, "The quote is not open (an awarded one: withdraw from the trip)")
def withdraw_quote(quote_id):
    """Take back an open quote (webhook `quote.withdrawn` to the partner)."""
    with db.transaction() as session:
        return marketplace.withdraw_quote(session, _quote(quote_id), actor=actor())


@blp.post("/trips/<trip_id>/withdraw")
@operator_route("operator_trips:write")
@blp.response(200, OperatorQuoteSchema)
@problem_doc(blp, 409, "The trip is over")
def withdraw_from_trip(trip_id):
    """Give back a trip you were awarded: it loses its operator, the request reopens for
    quotes and the partner is alerted (email, webhook `trip.operator_withdrew`); its fans are
    not told anything until the partner acts. Answers your quote, now `withdrawn`."""
    trip = db.session.get(Trip, trip_id)
    if trip is None or trip.operator_id != g.operator.id or trip.quote_id is None:
        raise NotFound(f"no trip {trip_id}")
    quote_id = trip.quote_id
    with db.transaction() as session:
        awards.withdraw_from_trip(session, g.operator, trip, actor=actor())
    return db.session.get(Quote, quote_id)
