"""The widget's pages (`/w/<partner>/...`), server-rendered and working without JavaScript:
events -> trips for an event -> trip detail -> pledge form -> confirmation; "request a trip".

`embed/widget.js` enhances them: the pledge and request forms go through the widget JSON API
(so the host page hears `pledge.created` and `demand.requested`), progress updates live, and the
iframe keeps the loader told of its height. The manage pages are in `widget/manage.py`.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from flask import current_app, g, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy.orm import joinedload

from widget_server import idempotency, ratelimits
from widget_server.domain import limits
from widget_server.domain.errors import DomainError, NotFound, ValidationFailed
from widget_server.domain.limits import pledge_seat_limit
from widget_server.domain.notify import ask_manage_links
from widget_server.domain.numbers import parse_digits
from widget_server.domain.pledges import planning
from widget_server.domain.pricing import AddOnLine, PriceBreakdown
from widget_server.domain.pricing.add_ons import add_on_lines, on_sale
from widget_server.domain.pricing.promos import PromoCodeUnusable
from widget_server.domain.referrals import page_referral
from widget_server.domain.stop_requests import takes_stop_requests
from widget_server.extensions import db
from widget_server.fan import messages
from widget_server.fan.links import manage_token, manage_url, pledge_for, share_box
from widget_server.fan.render import payment_method_from_form, payments_mode, render_page
from widget_server.fan.security import FORM_TOKEN_FIELD, check_form_post, form_token
from widget_server.fan.serializers import price_json, public_trip
from widget_server.fan.trip_state import pledge_status_label, progress_words, trip_state
from widget_server.models import Event, Trip
from widget_server.models.add_ons import MAX_ADD_ON_UNITS
from widget_server.models.types import utcnow
from widget_server.payments.simulated import TEST_CARD_NUMBERS
from widget_server.widget.blueprint import bp
from widget_server.widget.common import (
    ADD_ON_FIELD,
    DemandInput,
    LinkRequest,
    PledgeInput,
    add_on_choices,
    place_demand,
    place_pledge,
    replay_pledge_attempt,
    trips_for_event,
    upcoming_events,
)

# The pledge form's hidden Idempotency-Key: one per rendered form, i.e. per pledge attempt.
ATTEMPT_FIELD = "idempotency_key"


def _event(event_id: str) -> Event:
    event = db.session.get(Event, event_id)
    if event is None or event.partner_id != g.partner.id:
        raise NotFound(_("This game is not available."))
    return event


def _trip(trip_id: str) -> Trip:
    # With its stops and event in the same query: every trip page shows them.
    trip = db.session.get(Trip, trip_id, options=[joinedload(Trip.stops), joinedload(Trip.event)])
    if trip is None or trip.partner_id != g.partner.id or trip.status == "draft":
        raise NotFound(_("This trip is not available."))
    return trip


# How often widget.js asks for progress (a conditional GET the edge cache answers: the public
# JSON lives a second there), so a new pledge shows, and `trip.progress` fires, within ~2 s.
POLL_INTERVAL_MS = 1000


def _live(trips: list[Trip], *, event_id: str | None = None) -> dict:
    """What widget.js needs to poll progress: the API URL (the event's trips, or the one
    trip), how often, each trip's progress line with its numbers left to fill in, and the
    seats the page shows (a change fires `trip.progress` to the host page)."""
    path = "trips" if event_id else f"trips/{trips[0].id}"
    return {
        "poll": f"/w/{g.partner.slug}/api/{path}" + (f"?event_id={event_id}" if event_id else ""),
        "interval": POLL_INTERVAL_MS,
        "seats": {trip.id: trip.seats_pledged for trip in trips},
        "texts": {"progress": {trip.id: progress_words(trip, placeholders=True) for trip in trips}},
    }


@bp.get("/")
def events():
    """The partner's upcoming games."""
    return render_page("widget/events.html", events=upcoming_events(g.partner), shared=True)


@bp.get("/events/<event_id>")
def event(event_id: str):
    """Trips to one game, from the fan's city first (`near`), with live progress."""
    event = _event(event_id)
    near = (request.args.get("near") or "").strip()[:100]
    states = [trip_state(trip) for trip in trips_for_event(g.partner, event.id, near)]
    return render_page(
        "widget/event.html",
        event=event,
        trips=states,
        near=near,
        bars=states,
        data={"live": _live([state.trip for state in states], event_id=event.id)},
        shared=True,
    )


@bp.get("/trips/<trip_id>")
def trip(trip_id: str):
    """One trip: progress, price, deadline, stops, and the way to pledge."""
    return trip_page(_trip(trip_id))


def trip_page(
    trip: Trip, *, values=None, errors=None, problem=None, status: int = 200, form="stop"
):
    """The trip page, with its stop request form and, when sold out, the waitlist form;
    `values`, `errors` and `problem` go to the `form` ("stop" or "waitlist") sent back."""
    state = trip_state(trip)
    sent_back = {"values": values or {}, "errors": errors or {}, "problem": problem}
    empty = {"values": {}, "errors": {}, "problem": None}
    detail = {"trip_id": trip.id, "event_id": trip.event_id}
    return render_page(
        "widget/trip.html",
        status=status,
        state=state,
        trip=trip,
        event=trip.event,
        bars=[state],
        emit=[("trip.viewed", detail)] if status == 200 else [],
        stop_request={
            "open": takes_stop_requests(trip),
            **(sent_back if form == "stop" else empty),
            "done_place": (request.args.get("stop_place") or "")[:200],
            "done_count": request.args.get("stop_count", type=int),
            "token": form_token(g.partner, f"stop_request:{trip.id}"),
        },
        waitlist_form={
            "open": state.waitlist_open,
            **(sent_back if form == "waitlist" else empty),
            "token": form_token(g.partner, f"waitlist_join:{trip.id}"),
        },
        data={
            "live": _live([trip]),
            # widget.js sends the waitlist form through the JSON API and says what went wrong.
            "max_seats": limits.MAX_SEATS_PER_PLEDGE,
            "field_messages": messages.field_messages(limits.MAX_SEATS_PER_PLEDGE),
            "problems": messages.problem_messages(),
        },
        shared=True,
    )


@bp.get("/trips/<trip_id>/pledge")
def pledge_form(trip_id: str):
    """The pledge form; from a share link (`?stop=&ref=`) with the friend's stop chosen and the
    referral carried (a damaged or foreign referral code is dropped: the form still works)."""
    trip = _trip(trip_id)
    stop = request.args.get("stop")
    values = {
        "seats": 1,
        "stop_id": stop if any(s.id == stop for s in trip.stops) else _first_stop(trip),
        "ref": page_referral(db.session, current_app.config["SECRET_KEY"], trip, _ref_arg()),
        # A promo code from the link (`?promo=`, what the embed passes on too).
        "promo_code": (request.args.get("promo") or "")[:40],
    }
    return _pledge_page(trip, values=values)


def _first_stop(trip: Trip) -> str:
    return trip.stops[0].id if trip.stops else ""


def _ref_arg() -> str | None:
    ref = request.args.get("ref")
    return ref[:64] if ref else None


def _pledge_page(
    trip: Trip,
    *,
    values=None,
    errors=None,
    problem=None,
    status: int = 200,
    idempotency_key: str | None = None,
):
    """The pledge form. It carries a new Idempotency-Key (`idempotency_key`) for the attempt,
    or the one given: the attempt still running when the page was answered, which sending the
    form again must replay, not repeat."""
    state = trip_state(trip)
    if not state.can_pledge and status == 200:
        return redirect(url_for("widget_pages.trip", trip_id=trip.id), code=303)
    max_seats = max(1, pledge_seat_limit(g.partner.max_seats_per_fan, 0, state.seats_available))
    values = values or {"seats": 1, "stop_id": _first_stop(trip)}
    seats = parse_digits(str(values.get("seats", "")))
    total_seats = seats if seats and seats <= max_seats else 1
    errors = errors or {}
    add_ons = on_sale(trip)
    price, promo_error = _form_price(
        trip, total_seats, values.get("promo_code") or None, _chosen_lines(trip, values)
    )
    if promo_error and "promo_code" not in errors:
        errors["promo_code"] = promo_error
    return render_page(
        "widget/pledge.html",
        status=status,
        state=state,
        trip=trip,
        event=trip.event,
        max_seats=max_seats,
        total_seats=total_seats,
        add_ons=add_ons,
        max_add_on_units=MAX_ADD_ON_UNITS,
        price=price,
        values=values,
        errors=errors,
        problem=problem,
        token=form_token(g.partner, f"pledge:{trip.id}"),
        idempotency_key=idempotency_key or str(uuid.uuid4()),
        here=("widget_pages.pledge_form", {"trip_id": trip.id}),
        data={
            "trip": public_trip(trip),
            "max_seats": max_seats,
            "field_messages": messages.field_messages(max_seats),
            "problems": messages.problem_messages(),
            # widget.js puts the new pledge's manage token in place of TOKEN.
            "confirmation": url_for("widget_pages.confirmation", token="TOKEN"),  # noqa: S106  # nosec B106
            "cards": TEST_CARD_NUMBERS if payments_mode()["simulated"] else {},
            "texts": {
                "total": _("Total: %(amount)s", amount="{amount}"),
                "discount": _("%(amount)s off", amount="{amount}"),
            },
            "promo_messages": messages.promo_messages(),
            "price": price_json(price),
        },
    )


def _form_price(
    trip: Trip, seats: int, promo_code: str | None, add_ons: tuple[AddOnLine, ...] = ()
) -> tuple[PriceBreakdown, str | None]:
    """The price the form shows: with the fan's code when it can be used, else without it and
    the fan's words for why not; with the extras chosen."""
    now = utcnow()
    try:
        price = planning.quote(
            db.session, g.partner.id, trip, seats, now, promo_code, None, add_ons
        )
        return price, None
    except PromoCodeUnusable as exc:
        price = planning.quote(db.session, g.partner.id, trip, seats, now, None, None, add_ons)
        return price, messages.for_promo(exc.errors["promo_code"][0])


def _chosen_lines(trip: Trip, values: dict) -> tuple[AddOnLine, ...]:
    """The extras chosen on the form as priced lines; none when a choice is refused (the form
    names the field: the total shown is then the seats')."""
    try:
        return add_on_lines(trip, add_on_choices(values))
    except ValidationFailed:
        return ()


@bp.post("/trips/<trip_id>/pledge")
@ratelimits.pledge_write
def create_pledge(trip_id: str):
    """The pledge form without JavaScript (widget.js uses the JSON API instead)."""
    trip = _trip(trip_id)
    form = request.form
    values = {
        key: form.get(key, "").strip()
        for key in ("stop_id", "seats", "name", "email", "ref", "promo_code")
    }
    values.update((name, form[name]) for name in form if name.startswith(ADD_ON_FIELD))
    key = None
    try:
        check_form_post(g.partner, f"pledge:{trip.id}")
        if form.get("apply_promo"):  # "Apply": the form again, priced with the code (no key
            return _pledge_page(trip, values=values)  # is claimed: nothing was attempted)
        key = idempotency.key_from(form.get(ATTEMPT_FIELD), ATTEMPT_FIELD)
        replay = replay_pledge_attempt(
            g.partner,
            key,
            field=ATTEMPT_FIELD,
            request_fingerprint=_form_fingerprint(form),
            stores_refusals=False,  # an error page is rendered afresh, with a new key
        )
        if replay is not None:
            return replay
        data = PledgeInput().load(
            {
                "stop_id": values["stop_id"],
                "seats": parse_digits(values["seats"]) or 0,  # "²" or "1e3" is a seats error
                "name": values["name"],
                "email": values["email"],
                "payment_method": payment_method_from_form(form),
                "locale": str(get_locale()),
                "ref": values["ref"] or None,
                "add_ons": add_on_choices(form),
                "promo_code": values["promo_code"][:40] or None,
            }
        )
        pledge = place_pledge(g.partner, trip.id, data)
    except ValidationError as exc:
        return _pledge_page(trip, values=values, errors=_field_errors(exc.messages), status=422)
    except DomainError as exc:
        db.session.expire_all()
        errors = _field_errors(exc.errors) if isinstance(exc, ValidationFailed) else {}
        errors.pop(ATTEMPT_FIELD, None)  # not a field the fan sees: the problem says it
        if exc.type == "card-declined":
            errors = {"payment_method": messages.for_problem(exc)}
        if isinstance(exc, PromoCodeUnusable):
            errors["promo_code"] = messages.for_promo(exc.errors["promo_code"][0])
        problem = messages.for_problem(exc)
        if "ref" in errors:
            values["ref"] = ""  # sent again, the form pledges without the damaged referral
            problem = errors.pop("ref")
        trip = _trip(trip_id)
        if not errors and trip_state(trip).waitlist_open:
            # No seat is on sale any more: the trip page, with the waitlist form filled in.
            line = {name: values[name] for name in ("stop_id", "seats", "name", "email")}
            return trip_page(trip, values=line, problem=problem, status=exc.status, form="waitlist")
        # Still running: sending the form again must replay that attempt, so it keeps its key.
        running = key if isinstance(exc, idempotency.StillInProgress) else None
        return _pledge_page(
            trip,
            values=values,
            errors=errors,
            problem=problem,
            status=exc.status,
            idempotency_key=running,
        )
    token = manage_token(pledge.id)
    return redirect(url_for("widget_pages.confirmation", token=token), code=303)


def _form_fingerprint(form) -> str:
    """What makes two sends of the pledge form the same attempt: its fields, without the
    anti-forgery token (a page answered "still in progress" carries a fresh one)."""
    fields = sorted(
        (name, value) for name, value in form.items(multi=True) if name != FORM_TOKEN_FIELD
    )
    return hashlib.sha256(json.dumps([request.method, request.path, fields]).encode()).hexdigest()


def _field_errors(errors: dict) -> dict[str, str]:
    """Translated words for each field marshmallow or the domain found wrong."""
    max_seats = limits.MAX_SEATS_PER_PLEDGE
    texts = messages.field_messages(max_seats)
    return {field: texts.get(field, texts["_generic"]) for field in errors}


@bp.get("/pledged/<token>")
def confirmation(token: str):
    """Right after pledging: what happens next, and the link to manage the pledge."""
    pledge = pledge_for(token)
    return render_page(
        "widget/confirmation.html",
        pledge=pledge,
        trip=pledge.trip,
        event=pledge.trip.event,
        manage_link=manage_url(g.partner.slug, pledge.id),
        share=share_box(pledge),
        status_label=pledge_status_label(pledge.status),
        token=token,
    )


@bp.get("/events/<event_id>/request")
def request_form(event_id: str):
    return _request_page(_event(event_id))


def _request_page(event: Event, *, values=None, errors=None, problem=None, status: int = 200):
    done = request.args.get("done") == "1"
    return render_page(
        "widget/request.html",
        status=status,
        event=event,
        values=values or {},
        errors=errors or {},
        problem=problem,
        done=done,
        done_origin=(request.args.get("origin") or "")[:200],
        done_count=request.args.get("count", type=int),
        token=form_token(g.partner, f"demand:{event.id}"),
        here=("widget_pages.request_form", {"event_id": event.id}),
        data={
            "event_id": event.id,
            "field_messages": messages.field_messages(limits.MAX_SEATS_PER_PLEDGE),
            "problems": messages.problem_messages(),
            "done": url_for("widget_pages.request_form", event_id=event.id, done=1),
        },
    )


@bp.post("/events/<event_id>/request")
@ratelimits.widget_write
@ratelimits.per_fan
def send_request(event_id: str):
    """ "Request a trip from my city" without JavaScript."""
    event = _event(event_id)
    values = {key: request.form.get(key, "").strip() for key in ("origin", "email")}
    try:
        check_form_post(g.partner, f"demand:{event.id}")
        data = DemandInput().load({**values, "event_id": event.id, "locale": str(get_locale())})
        result = place_demand(g.partner, data)
    except ValidationError as exc:
        return _request_page(event, values=values, errors=_field_errors(exc.messages), status=422)
    except DomainError as exc:
        errors = _field_errors(exc.errors) if isinstance(exc, ValidationFailed) else {}
        problem = None if errors else messages.for_problem(exc)
        return _request_page(
            event, values=values, errors=errors, problem=problem, status=exc.status
        )
    done = url_for(
        "widget_pages.request_form",
        event_id=event.id,
        done=1,
        origin=result["origin"],
        count=result["count"],
    )
    return redirect(done, code=303)


def _link_page(trip: Trip, *, values=None, errors=None, problem=None, status: int = 200):
    return render_page(
        "widget/resend.html",
        status=status,
        trip=trip,
        event=trip.event,
        values=values or {},
        errors=errors or {},
        problem=problem,
        done=request.args.get("done") == "1",
        token=form_token(g.partner, f"link:{trip.id}"),
        here=("widget_pages.link_form", {"trip_id": trip.id}),
    )


@bp.get("/trips/<trip_id>/link")
def link_form(trip_id: str):
    """ "Email me my link": a fan who lost the manage link asks for a fresh one."""
    return _link_page(_trip(trip_id))


@bp.post("/trips/<trip_id>/link")
@ratelimits.widget_write
@ratelimits.per_fan
def send_link(trip_id: str):
    """Mail fresh manage links for the fan's pledges on this trip. The answer is the same
    whether or not there is any (nobody learns who pledged)."""
    trip = _trip(trip_id)
    values = {"email": request.form.get("email", "").strip()}
    try:
        check_form_post(g.partner, f"link:{trip.id}")
        email = LinkRequest().load(values)["email"]
        with db.transaction() as session:
            ask_manage_links(session, g.partner, trip.id, email)
    except ValidationError as exc:
        return _link_page(trip, values=values, errors=_field_errors(exc.messages), status=422)
    except DomainError as exc:
        return _link_page(trip, values=values, problem=messages.for_problem(exc), status=exc.status)
    return redirect(url_for("widget_pages.link_form", trip_id=trip.id, done=1), code=303)
