"""The waitlist in the widget: joining a sold-out trip (JSON API, `POST
/w/<partner>/api/trips/<id>/waitlist`) and the fan's waitlist page from the signed link in the
emails (`/w/<partner>/waitlist/<token>`): place in line, or the offer to take (card form, then
the usual manage page) or decline. The rules are in domain/pledges/waitlist.py."""

from __future__ import annotations

from flask import current_app, g, jsonify, redirect, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from marshmallow import RAISE, Schema, ValidationError, validate
from sqlalchemy import func, select

from widget_server import ratelimits, services
from widget_server.domain import limits
from widget_server.domain.errors import DomainError, NotFound, ValidationFailed
from widget_server.domain.numbers import Integer, parse_digits
from widget_server.domain.pledges import placing, waitlist
from widget_server.domain.text import Email, Id, Text
from widget_server.extensions import db
from widget_server.fan import messages
from widget_server.fan.links import manage_token, waitlist_entry_id, waitlist_token, waitlist_url
from widget_server.fan.render import render_page
from widget_server.fan.security import check_form_post, form_token
from widget_server.fan.serializers import iso
from widget_server.i18n import SUPPORTED_LOCALES
from widget_server.models import WaitlistEntry
from widget_server.models.types import utcnow
from widget_server.payments.simulated import payment_method_for_card_number
from widget_server.widget import pages
from widget_server.widget.api import bp as api_bp
from widget_server.widget.api import load_json
from widget_server.widget.blueprint import bp as pages_bp


class WaitlistInput(Schema):
    class Meta:
        unknown = RAISE

    stop_id = Id("stp", required=True)
    seats = Integer(required=True, validate=validate.Range(1, limits.MAX_SEATS_PER_PLEDGE))
    name = Text(required=True, max_length=200)
    email = Email(required=True)
    locale = Text(load_default=None, validate=validate.OneOf(SUPPORTED_LOCALES))


def _position(entry: WaitlistEntry) -> int:
    """1 for the first fan still waiting, and so on."""
    return 1 + db.session.scalar(
        select(func.count()).where(
            WaitlistEntry.trip_id == entry.trip_id,
            WaitlistEntry.status == "waiting",
            WaitlistEntry.position < entry.position,
        )
    )


def fan_entry(entry: WaitlistEntry) -> dict:
    return {
        "id": entry.id,
        "object": "waitlist_entry",
        "trip_id": entry.trip_id,
        "stop_id": entry.stop_id,
        "seats": entry.seats,
        "status": entry.status,
        "position": _position(entry) if entry.status == "waiting" else None,
        "offer_expires_at": iso(entry.offer_expires_at) if entry.status == "offered" else None,
        "created_at": iso(entry.created_at),
    }


@api_bp.post("/trips/<trip_id>/waitlist")
@ratelimits.widget_write
def join(trip_id: str):
    """Join a sold-out trip's waitlist: 201, or 409 `not-sold-out` when seats are there."""
    data = load_json(WaitlistInput())
    with db.transaction() as session:
        entry = waitlist.join_waitlist(
            session,
            g.partner,
            trip_id,
            stop_id=data["stop_id"],
            seats=data["seats"],
            name=data["name"],
            email=data["email"],
            locale=data["locale"] or g.partner.locale,
        )
    body = {"waitlist_entry": fan_entry(entry), "url": waitlist_url(g.partner.slug, entry.id)}
    return jsonify(body), 201


@pages_bp.post("/trips/<trip_id>/waitlist")
@ratelimits.widget_write
def join_form(trip_id: str):
    """The trip page's "join the waitlist" form without JavaScript: 303 to the fan's waitlist
    page, or the trip page again with the fields to fix."""
    trip = pages._trip(trip_id)
    form = request.form
    values = {key: form.get(key, "").strip() for key in ("stop_id", "seats", "name", "email")}
    try:
        check_form_post(g.partner, f"waitlist_join:{trip.id}")
        data = WaitlistInput().load(
            {
                "stop_id": values["stop_id"],
                "seats": parse_digits(values["seats"]) or 0,
                "name": values["name"],
                "email": values["email"],
                "locale": str(get_locale()),
            }
        )
        with db.transaction() as session:
            entry = waitlist.join_waitlist(session, g.partner, trip.id, **data)
    except ValidationError as exc:
        errors = pages._field_errors(exc.messages)
        return pages.trip_page(trip, values=values, errors=errors, status=422, form="waitlist")
    except DomainError as exc:
        db.session.expire_all()
        errors = pages._field_errors(exc.errors) if isinstance(exc, ValidationFailed) else {}
        problem = None if errors else messages.for_problem(exc)
        return pages.trip_page(
            pages._trip(trip_id),
            values=values,
            errors=errors,
            problem=problem,
            status=exc.status,
            form="waitlist",
        )
    # url_for keeps the embedding context (host, language), so the iframe keeps its size.
    return redirect(url_for("widget_pages.waitlist_page", token=waitlist_token(entry.id)), code=303)


def _entry(token: str) -> WaitlistEntry:
    entry_id = waitlist_entry_id(token)
    entry = db.session.get(WaitlistEntry, entry_id) if entry_id else None
    if entry is None or entry.partner_id != g.partner.id:
        raise NotFound(_("This link is not valid; check it was copied whole."))
    return entry


def _in_fans_language(entry: WaitlistEntry) -> None:
    if not request.args.get("locale"):
        g.locale = entry.locale  # the link came from an email in the fan's language


def _render(entry: WaitlistEntry, token: str, *, error: str | None = None, status: int = 200):
    _in_fans_language(entry)
    trip = entry.trip
    live_offer = entry.status == "offered" and entry.offer_expires_at > utcnow()
    return render_page(
        "widget/waitlist.html",
        status=status,
        entry=entry,
        left=request.args.get("done") == "left" and entry.status == "closed",
        trip=trip,
        event=trip.event,
        position=_position(entry) if entry.status == "waiting" else None,
        place=_place(entry),
        live_offer=live_offer,
        token=token,
        form_token=form_token(g.partner, f"waitlist:{entry.id}"),
        error=error,
        here=("widget_pages.waitlist_page", {"token": token}),
    )


@pages_bp.get("/waitlist/<token>")
def waitlist_page(token: str):
    return _render(_entry(token), token)


@pages_bp.post("/waitlist/<token>/claim")
@ratelimits.widget_write
@ratelimits.per_card
def claim(token: str):
    """Take the held seats: the card is saved (and charged at once on a confirmed trip)."""
    entry = _entry(token)
    provider = current_app.extensions["ridepledge.payments"]
    payment_method = request.form.get("payment_method", "").strip()
    if provider.name == "simulated":
        payment_method = payment_method_for_card_number(request.form.get("card_number", ""))
    try:
        check_form_post(g.partner, f"waitlist:{entry.id}")
        if not payment_method:
            raise ValidationFailed.field("payment_method", "not a test card number")
        pledge = placing.claim_offer(
            services.payments(), g.partner, entry, payment_method, secret=services.secret_key()
        )
    except DomainError as exc:
        db.session.rollback()
        db.session.expire_all()
        return _render(_entry(token), token, error=messages.for_problem(exc), status=exc.status)
    return redirect(url_for("widget_pages.manage", token=manage_token(pledge.id)), code=303)


@pages_bp.post("/waitlist/<token>/decline")
@ratelimits.widget_write
def decline(token: str):
    """ "No thanks": the held seats pass to the next fan in line."""
    return _act(token, waitlist.decline_offer)


def _act(token: str, action, **after):
    """Check the form, run `action(session, entry)` in one transaction, then 303 to the
    waitlist page (`after` in its query); on a refusal the page again, in the fan's words."""
    entry = _entry(token)
    try:
        check_form_post(g.partner, f"waitlist:{entry.id}")
        with db.transaction() as session:
            action(session, entry)
    except DomainError as exc:
        db.session.expire_all()
        return _render(_entry(token), token, error=messages.for_problem(exc), status=exc.status)
    return redirect(url_for("widget_pages.waitlist_page", token=token, **after), code=303)


@pages_bp.get("/waitlist/<token>/leave")
def confirm_leave(token: str):
    """The question before leaving the line (a page of its own: works without JavaScript).
    A place that is no longer waiting goes back to the waitlist page, which says where it is
    (an offer has its own "no thanks")."""
    entry = _entry(token)
    if entry.status != "waiting":
        return redirect(url_for("widget_pages.waitlist_page", token=token), code=303)
    _in_fans_language(entry)
    trip = entry.trip
    confirm = {
        "question": _("Leave the waitlist?"),
        "summary_title": _("Your place"),
        "place": _place(entry),
        "consequence": _(
            "You lose your place in line and we stop emailing you about this bus. Nothing is "
            "charged. To come back, join again: at the end of the line."
        ),
        "action": url_for("widget_pages.leave", token=token),
        "yes": _("Yes, leave the waitlist"),
        "back": url_for("widget_pages.waitlist_page", token=token),
        "no": _("No, keep my place"),
    }
    return render_page(
        "widget/confirm.html",
        confirm=confirm,
        trip=trip,
        event=trip.event,
        form_token=form_token(g.partner, f"waitlist:{entry.id}"),
        here=("widget_pages.confirm_leave", {"token": token}),
    )


def _place(entry: WaitlistEntry) -> str:
    """ "2 seats, pick-up at Stop 1." """
    return ngettext(
        "%(num)s seat, pick-up at %(stop)s.",
        "%(num)s seats, pick-up at %(stop)s.",
        entry.seats,
        stop=entry.stop.name,
    )


@pages_bp.post("/waitlist/<token>/leave")
@ratelimits.widget_write
def leave(token: str):
    """The fan leaves the line (domain `waitlist.leave_line`); their place closes."""
    return _act(token, waitlist.leave_line, done="left")
