"""Promo codes: the list with uses, create, edit, turn off and on (editors and owners)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from widget_server.admin import bp
from widget_server.admin.auth import actor, owned, requires
from widget_server.admin.helpers import partner_zone
from widget_server.admin.schemas import local_input, price_input, read_promo_code
from widget_server.domain.errors import DomainError
from widget_server.domain.pricing import settings
from widget_server.extensions import db
from widget_server.models import Event, PromoCode, Trip

# The domain's fields that the form's one "value" field stands for.
_VALUE_FIELDS = ("percent_off", "amount_off", "currency")


def _errors(exc: DomainError) -> dict:
    errors = exc.errors or {"_form": [exc.detail]}
    return {("value" if name in _VALUE_FIELDS else name): text for name, text in errors.items()}


def _values(promo: PromoCode | None) -> dict:
    if promo is None:
        return {"kind": "percent"}
    zone = partner_zone()
    percent = promo.percent_off is not None
    return {
        "code": promo.code,
        "kind": "percent" if percent else "amount",
        "value": str(promo.percent_off)
        if percent
        else price_input(promo.amount_off, promo.currency),
        "max_redemptions": promo.max_redemptions or "",
        "per_fan_limit": promo.per_fan_limit or "",
        "starts_at": local_input(promo.starts_at, zone),
        "ends_at": local_input(promo.ends_at, zone),
        "scope": promo.trip_id or promo.event_id or "",
    }


def _scopes() -> list[tuple[str, str]]:
    """The scope picker: every trip, each event, each trip (value, label)."""
    events = db.session.scalars(
        select(Event).where(Event.partner_id == g.partner.id).order_by(Event.starts_at)
    )
    choices = [("", _("Every trip"))]
    for event in events:
        choices.append((event.id, _("Every trip to %(event)s", event=event.title)))
        trips = db.session.scalars(
            select(Trip).where(Trip.event_id == event.id).order_by(Trip.created_at)
        )
        for trip in trips:
            choices.append(
                (
                    trip.id,
                    _("%(event)s: from %(origin)s", event=event.title, origin=trip.origin_name),
                )
            )
    return choices


def _read(form) -> dict:
    return read_promo_code(form, timezone=partner_zone(), currency=g.partner.currency)


@bp.get("/promo_codes")
@requires("view")
def promo_codes():
    return _list_page(_values(None), {})


def _list_page(values: dict, errors: dict, status: int = 200):
    listing = db.session.scalars(
        select(PromoCode).where(PromoCode.partner_id == g.partner.id).order_by(PromoCode.code)
    )
    page = render_template(
        "admin/promo_codes.html",
        codes=list(listing),
        values=values,
        errors=errors,
        scopes=_scopes(),
        zone=partner_zone(),
    )
    return page, status


@bp.post("/promo_codes")
@requires("catalog")
def create_promo_code():
    try:
        data = _read(request.form)
        with db.transaction() as session:
            promo = settings.create_promo_code(session, g.partner.id, data, actor=actor())
    except DomainError as exc:
        db.session.rollback()
        return _list_page(request.form.to_dict(), _errors(exc), 422)
    flash(_("Promo code %(code)s created.", code=promo.code))
    return redirect(url_for("admin.promo_codes"))


def _code_page(promo: PromoCode, values: dict, errors: dict, status: int = 200):
    page = render_template(
        "admin/promo_code.html",
        promo=promo,
        values=values,
        errors=errors,
        scopes=_scopes(),
        zone=partner_zone(),
    )
    return page, status


@bp.get("/promo_codes/<promo_code_id>")
@requires("view")
def promo_code(promo_code_id: str):
    promo = owned(PromoCode, promo_code_id)
    return _code_page(promo, _values(promo), {})


@bp.post("/promo_codes/<promo_code_id>")
@requires("catalog")
def update_promo_code(promo_code_id: str):
    promo = owned(PromoCode, promo_code_id)
    try:
        data = _read(request.form)
        with db.transaction() as session:
            settings.update_promo_code(session, promo, data, actor=actor())
    except DomainError as exc:
        db.session.rollback()
        return _code_page(
            owned(PromoCode, promo_code_id), request.form.to_dict(), _errors(exc), 422
        )
    flash(_("Promo code saved. Pledges already made keep their price."))
    return redirect(url_for("admin.promo_codes"))


@bp.post("/promo_codes/<promo_code_id>/active")
@requires("catalog")
def set_promo_code_active(promo_code_id: str):
    """Turn a code off (fans can no longer use it) or back on."""
    promo = owned(PromoCode, promo_code_id)
    active = request.form.get("active") == "on"
    with db.transaction() as session:
        settings.update_promo_code(session, promo, {"active": active}, actor=actor())
    flash(_("The code is on.") if active else _("The code is off: fans can no longer use it."))
    return redirect(url_for("admin.promo_codes"))
