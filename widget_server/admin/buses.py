"""Buses: ask bus companies (operators) for a bus, compare their quotes side by side with each
operator's compliance and the break-even threshold, and award one (which makes the draft
trip). Asking and awarding need the `catalog` permission (owners and editors)."""

from __future__ import annotations

import math
from datetime import date
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from widget_server.admin import bp
from widget_server.admin.auth import actor, owned, requires
from widget_server.admin.schemas import LocalDateTime, _load, price_input
from widget_server.backoffice.messages import console_message
from widget_server.domain.errors import DomainError, ValidationFailed
from widget_server.domain.numbers import minor_units
from widget_server.domain.operators import awards, marketplace
from widget_server.domain.operators.operators import (
    INSURANCE_ENDS_BEFORE,
    INSURANCE_EXPIRED,
    MISSING_USDOT,
    NO_INSURANCE,
    award_blockers,
)
from widget_server.domain.text import Text
from widget_server.extensions import db
from widget_server.ids import is_id
from widget_server.models import Event, Operator, Quote, TripRequest, TripRequestInvite
from widget_server.models.operators import VEHICLE_KINDS
from widget_server.models.types import utcnow

LIST_LIMIT = 100


@bp.get("/buses")
@requires("view")
def buses():
    """The partner's requests for a bus, newest first."""
    requests = db.session.scalars(
        select(TripRequest)
        .where(TripRequest.partner_id == g.partner.id)
        .order_by(TripRequest.id.desc())
        .limit(LIST_LIMIT)
    ).all()
    events = {
        event.id: event
        for event in db.session.scalars(select(Event).where(Event.partner_id == g.partner.id))
    }
    return render_template("admin/buses.html", requests=requests, events=events)


def _upcoming_events() -> list[Event]:
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.partner_id == g.partner.id, Event.starts_at > utcnow())
            .order_by(Event.starts_at)
        )
    )


def _request_form(values: dict, errors: dict):
    operators = db.session.scalars(select(Operator).order_by(Operator.name, Operator.id)).all()
    page = render_template(
        "admin/bus_request_form.html",
        events=_upcoming_events(),
        operators=operators,
        vehicle_kinds=VEHICLE_KINDS,
        values=values,
        errors=errors,
    )
    return page, 422 if errors else 200


def _read_request(form) -> tuple[Event, dict]:
    """The form as `marketplace.request_bus` arguments; the departure is typed in the event's
    time zone."""
    event_id = form.get("event_id", "")
    event = db.session.get(Event, event_id) if is_id(event_id, "evt") else None
    if event is None or event.partner_id != g.partner.id:
        raise ValidationFailed.field("event_id", "no such event")

    class Origin(Schema):
        name = Text(required=True, max_length=200)
        region = Text(max_length=20, load_default=None)

    class RequestInput(Schema):
        origin = fields.Nested(Origin, required=True)
        departs_at = LocalDateTime(ZoneInfo(event.timezone), required=True)
        expected_riders = fields.Integer(required=True, validate=validate.Range(1, 1000))
        vehicle_kind = Text(required=True, validate=validate.OneOf(VEHICLE_KINDS))

    data = _load(RequestInput(), {k: v for k, v in form.items() if k != "operators"})
    data["operators"] = form.getlist("operators") or None
    return event, data


@bp.route("/buses/new", methods=["GET", "POST"])
@requires("catalog")
def new_bus_request():
    """Ask for a bus: the operators ticked, or every operator serving the origin's region."""
    if request.method == "GET":
        values = {"event_id": request.args.get("event_id", ""), "expected_riders": 40}
        return _request_form(values, {})
    try:
        event, data = _read_request(request.form)
        with db.transaction() as session:
            trip_request = marketplace.request_bus(session, g.partner, event, actor=actor(), **data)
    except DomainError as exc:
        values = request.form.to_dict() | {"operators": request.form.getlist("operators")}
        return _request_form(values, exc.errors or {"_form": [exc.detail]})
    flash(_("Request sent. The operators asked are told and can quote now."))
    return redirect(url_for("admin.bus_request", request_id=trip_request.id))


def default_seat_price(quote, expected_riders: int) -> int:
    """The seat price that pays for the bus when the expected riders come (at most its seats):
    what the award form starts from."""
    return math.ceil(quote.amount / max(1, min(expected_riders, quote.seats)))


def compliance(operator: Operator, trip_day: date) -> list[dict]:
    """The operator's compliance in plain words (`award_blockers`, the award's own rule),
    each line marked ok or not."""
    blockers = set(award_blockers(operator, trip_day))
    if MISSING_USDOT in blockers:
        lines = [{"ok": False, "text": _("No USDOT number on file")}]
    else:
        lines = [{"ok": True, "text": _("USDOT number %(n)s", n=operator.usdot_number)}]
    expires = operator.insurance_expires_on
    when = (
        format_date(expires, format="medium", locale=str(get_locale() or "en")) if expires else ""
    )
    if NO_INSURANCE in blockers:
        lines.append({"ok": False, "text": _("No insurance on file")})
    elif INSURANCE_EXPIRED in blockers:
        lines.append({"ok": False, "text": _("Insurance expired on %(date)s", date=when)})
    elif INSURANCE_ENDS_BEFORE in blockers:
        lines.append(
            {"ok": False, "text": _("Insurance ends %(date)s, before the trip", date=when)}
        )
    else:
        lines.append({"ok": True, "text": _("Insured until %(date)s", date=when)})
    return lines


def quote_rows(trip_request: TripRequest) -> list[dict]:
    """The quotes side by side: price, seats, price per seat, validity, the operator's
    compliance and why (if so) it cannot be awarded, the break-even threshold."""
    now = utcnow()
    rows = []
    for quote in marketplace.quotes_of(db.session, trip_request):
        operator = db.session.get(Operator, quote.operator_id)
        seat_price = default_seat_price(quote, trip_request.expected_riders)
        rows.append(
            {
                "quote": quote,
                "operator": operator,
                "compliance": compliance(operator, trip_request.departs_at.date()),
                "per_seat": math.ceil(quote.amount / quote.seats),
                "seat_price": seat_price,
                "seat_price_input": price_input(seat_price, quote.currency),
                "threshold": awards.suggested_min_riders(quote.amount, seat_price, quote.seats),
                "refusal": awards.award_refusal(quote, now=now),
                "expired": quote.valid_until <= now,
            }
        )
    return rows


def _request_page(trip_request: TripRequest, errors: dict | None = None):
    event = db.session.get(Event, trip_request.event_id)
    page = render_template(
        "admin/bus_request.html",
        trip_request=trip_request,
        event=event,
        rows=quote_rows(trip_request),
        invited=db.session.scalars(
            select(Operator.name)
            .join(TripRequestInvite)
            .where(TripRequestInvite.request_id == trip_request.id)
            .order_by(Operator.name)
        ).all(),
        errors=errors or {},
    )
    return page, 422 if errors else 200


@bp.get("/buses/<request_id>")
@requires("view")
def bus_request(request_id: str):
    return _request_page(owned(TripRequest, request_id))


@bp.post("/buses/<request_id>/award")
@requires("catalog")
def award_bus(request_id: str):
    """Award the quote chosen at the seat price given (and the threshold, if given)."""
    trip_request = owned(TripRequest, request_id)
    form = request.form
    try:
        quote_id = form.get("quote_id", "")
        quote = db.session.get(Quote, quote_id) if is_id(quote_id, "quo") else None
        if quote is None or quote.request_id != trip_request.id:
            raise ValidationFailed.field("quote_id", "no such quote on this request")
        unit_amount = minor_units(form.get("price", "").strip() or "0", quote.currency)
        min_riders = form.get("min_riders", "").strip()
        if min_riders and not min_riders.isdigit():
            raise ValidationFailed.field("min_riders", "must be a whole number")
        with db.transaction() as session:
            trip = awards.award_quote(
                session,
                trip_request,
                quote.id,
                unit_amount=unit_amount,
                min_riders=int(min_riders) if min_riders else None,
                actor=actor(),
            )
    except DomainError as exc:
        db.session.rollback()
        flash(console_message(exc.detail))
        return _request_page(trip_request, exc.errors or {"_form": [exc.detail]})
    flash(_("Quote awarded: the draft trip is ready. Check it, then open it for pledges."))
    return redirect(url_for("admin.trip", trip_id=trip.id))
