"""Quoting in the portal: "Requests to quote" (open requests sent to this operator, each with a
quote form: a vehicle from the fleet, seats, the price of the bus, until when it holds, notes)
and "My quotes" (revise or withdraw an open one). Views read the form and call
domain/operators/marketplace.py; a refused field is a 422 page naming it; a request the operator
was not asked for, or another operator's quote, is a 404."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from widget_server.domain.errors import DomainError, NotFound, ValidationFailed
from widget_server.domain.numbers import minor_units, parse_digits
from widget_server.domain.operators import marketplace, operators
from widget_server.domain.partners import CURRENCIES
from widget_server.domain.text import clean_text
from widget_server.extensions import db
from widget_server.models import Event, Partner, Quote, TripRequest
from widget_server.operator import bp
from widget_server.operator.auth import actor, requires
from widget_server.operator.company import KIND_NAMES

QUOTE_STATUS_NAMES = {
    "open": _l("open"),
    "awarded": _l("accepted"),
    "not_awarded": _l("not chosen"),
    "withdrawn": _l("withdrawn"),
}
LIST_LIMIT = 100
MAX_QUOTE = 1_000_000  # whole units of money for one bus


def _about(trip_request: TripRequest) -> dict:
    """What the operator sees of a request: who asks, the event, the origin and departure."""
    event = db.session.get(Event, trip_request.event_id)
    return {
        "request": trip_request,
        "partner": db.session.get(Partner, trip_request.partner_id),
        "event": event,
        "zone": event.timezone,
    }


def _open_quotes_by_request() -> dict[str, Quote]:
    quotes = db.session.scalars(
        select(Quote).where(Quote.operator_id == g.operator.id, Quote.status == "open")
    )
    return {quote.request_id: quote for quote in quotes}


@bp.get("/requests")
@requires("view")
def requests_to_quote(errors: dict | None = None, failed: str | None = None, status: int = 200):
    """Open requests sent to this operator, newest first; the one whose quote was refused
    (`failed`) shows its errors and what was typed."""
    found = db.session.scalars(
        marketplace.operator_requests_query(g.operator.id, open_only=True)
        .order_by(TripRequest.id.desc())
        .limit(LIST_LIMIT)
    ).all()
    page = render_template(
        "operator/requests.html",
        requests=[_about(r) for r in found],
        quoted=_open_quotes_by_request(),
        vehicles=operators.vehicles_of(db.session, g.operator, active_only=True),
        kind_names=KIND_NAMES,
        errors=errors or {},
        failed=failed,
        values=request.form.to_dict() if failed else {},
    )
    return page, status


def _valid_until(value: str, trip_request: TripRequest) -> datetime:
    """A date typed in the form: the end of that day in the event's time zone, or the
    departure when that comes first."""
    try:
        day = datetime.strptime(value.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise ValidationFailed.field("valid_until", "must be a date such as 2030-11-14") from None
    zone = ZoneInfo(_about(trip_request)["zone"])
    end_of_day = datetime.combine(day, time(23, 59), tzinfo=zone).astimezone(ZoneInfo("UTC"))
    return min(end_of_day, trip_request.departs_at)


def _quote_input(form, trip_request: TripRequest, *, quote: Quote | None = None) -> dict:
    """The form as `submit_quote` arguments, or (`quote`) as the changes of `revise_quote`:
    blank fields are left as they are."""
    new = quote is None
    data: dict = {}
    currency = (form.get("currency") or "").strip().upper()
    if new or currency:
        if currency not in CURRENCIES:
            raise ValidationFailed.field("currency", "must be an ISO 4217 code such as USD")
        data["currency"] = currency
    price = (form.get("price") or "").strip()
    if new or price:
        if not price:
            raise ValidationFailed.field("price", "must not be empty")
        data["amount"] = minor_units(
            price,
            data.get("currency") or quote.currency,
            field="price",
            at_most=MAX_QUOTE,
        )
    seats = (form.get("seats") or "").strip()
    if seats:
        number = parse_digits(seats)
        if number is None:
            raise ValidationFailed.field("seats", "must be a whole number")
        data["seats"] = number
    until = (form.get("valid_until") or "").strip()
    if new or until:
        if not until:
            raise ValidationFailed.field("valid_until", "must not be empty")
        data["valid_until"] = _valid_until(until, trip_request)
    vehicle_id = (form.get("vehicle_id") or "").strip()
    if vehicle_id:
        data["vehicle_id"] = vehicle_id
    notes = form.get("notes")
    if notes is not None and (new or notes.strip()):
        try:
            data["notes"] = clean_text(notes, max_length=2000, multiline=True) or None
        except ValueError as exc:
            raise ValidationFailed.field("notes", str(exc)) from None
    return data


def _request_or_404(trip_request_id: str) -> TripRequest:
    try:
        return marketplace.request_for_operator(db.session, g.operator, trip_request_id)
    except NotFound:
        abort(404)


def _quote_or_404(quote_id: str) -> Quote:
    try:
        return marketplace.quote_of_operator(db.session, g.operator, quote_id)
    except NotFound:
        abort(404)


def _errors(exc: DomainError) -> dict:
    return exc.errors or {"_form": [exc.detail]}


@bp.post("/requests/<trip_request_id>/quote")
@requires("dispatch")
def send_quote(trip_request_id: str):
    trip_request = _request_or_404(trip_request_id)
    try:
        data = _quote_input(request.form, trip_request)
        with db.transaction() as session:
            marketplace.submit_quote(session, g.operator, trip_request, actor=actor(), **data)
    except DomainError as exc:
        db.session.rollback()
        return requests_to_quote(_errors(exc), trip_request_id, 422)
    flash(_("Your quote is sent. You can revise it under My quotes until the partner chooses."))
    return redirect(url_for("operator.my_quotes"))


@bp.get("/quotes")
@requires("view")
def my_quotes(errors: dict | None = None, failed: str | None = None, status: int = 200):
    """This operator's quotes, newest first, with what became of them."""
    quotes = db.session.scalars(
        marketplace.operator_quotes_query(g.operator.id).order_by(Quote.id.desc()).limit(LIST_LIMIT)
    ).all()
    rows = [
        {"quote": quote, **_about(db.session.get(TripRequest, quote.request_id))}
        for quote in quotes
    ]
    page = render_template(
        "operator/quotes.html",
        rows=rows,
        quote_status_names=QUOTE_STATUS_NAMES,
        vehicles=operators.vehicles_of(db.session, g.operator, active_only=True),
        kind_names=KIND_NAMES,
        errors=errors or {},
        failed=failed,
        values=request.form.to_dict() if failed else {},
    )
    return page, status


@bp.post("/quotes/<quote_id>")
@requires("dispatch")
def revise_quote(quote_id: str):
    quote = _quote_or_404(quote_id)
    try:
        changes = _quote_input(request.form, marketplace.request_of(quote), quote=quote)
        with db.transaction() as session:
            marketplace.revise_quote(session, quote, changes, actor=actor())
    except DomainError as exc:
        db.session.rollback()
        return my_quotes(_errors(exc), quote_id, 422)
    flash(_("Your quote is revised."))
    return redirect(url_for("operator.my_quotes"))


@bp.post("/quotes/<quote_id>/withdraw")
@requires("dispatch")
def withdraw_quote(quote_id: str):
    quote = _quote_or_404(quote_id)
    try:
        with db.transaction() as session:
            marketplace.withdraw_quote(session, quote, actor=actor())
    except DomainError as exc:
        db.session.rollback()
        return my_quotes(_errors(exc), quote_id, 409)
    flash(_("Your quote is withdrawn."))
    return redirect(url_for("operator.my_quotes"))
