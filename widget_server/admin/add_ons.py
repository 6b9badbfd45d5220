"""Add-ons in the console: a trip's extras (list, add, edit, turn off) at
`/admin/trips/<id>/add_ons` and `/admin/add_ons/<id>`. The rules are
`domain/pricing/add_ons.py`'s."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from widget_server.admin import bp
from widget_server.admin.auth import actor, owned, requires
from widget_server.admin.schemas import price_input, read_add_on
from widget_server.domain.errors import DomainError
from widget_server.domain.pricing.add_ons import create_add_on, update_add_on
from widget_server.extensions import db
from widget_server.models import AddOn, Trip


@bp.get("/trips/<trip_id>/add_ons")
@requires("view")
def add_ons(trip_id: str):
    """The trip's extras: sold, left, on sale or off; and (for editors) the form to add one."""
    return _list_page(owned(Trip, trip_id), {"active": "1"}, {})


@bp.post("/trips/<trip_id>/add_ons")
@requires("catalog")
def create_trip_add_on(trip_id: str):
    trip = owned(Trip, trip_id)
    try:
        with db.transaction() as session:
            values = read_add_on(request.form, currency=trip.currency)
            add_on = create_add_on(session, trip, values, actor=actor())
    except DomainError as exc:
        db.session.rollback()
        return _list_page(trip, request.form.to_dict(), _errors(exc))
    flash(_("Extra “%(name)s” added. Fans can choose it now.", name=add_on.name))
    return redirect(url_for("admin.add_ons", trip_id=trip.id))


@bp.get("/add_ons/<add_on_id>")
@requires("view")
def add_on(add_on_id: str):
    """One extra's edit form."""
    add_on = owned(AddOn, add_on_id)
    return _edit_page(add_on, _values(add_on), {})


@bp.post("/add_ons/<add_on_id>")
@requires("catalog")
def update_trip_add_on(add_on_id: str):
    add_on = owned(AddOn, add_on_id)
    try:
        with db.transaction() as session:
            changes = read_add_on(request.form, currency=add_on.trip.currency)
            changes.setdefault("quantity", None)  # a blank quantity means unlimited
            update_add_on(session, add_on, changes, actor=actor())
    except DomainError as exc:
        db.session.rollback()
        return _edit_page(add_on, request.form.to_dict(), _errors(exc))
    flash(_("Extra “%(name)s” saved.", name=add_on.name))
    return redirect(url_for("admin.add_ons", trip_id=add_on.trip_id))


def _errors(exc: DomainError) -> dict:
    return exc.errors or {"_form": [exc.detail]}


def _values(add_on: AddOn) -> dict:
    return {
        "name": add_on.name,
        "price": price_input(add_on.unit_amount, add_on.trip.currency),
        "quantity": "" if add_on.quantity is None else str(add_on.quantity),
        "active": "1" if add_on.active else "",
    }


def _list_page(trip: Trip, values: dict, errors: dict):
    page = render_template(
        "admin/add_ons.html",
        trip=trip,
        event=trip.event,
        add_ons=trip.add_ons,
        values=values,
        errors=errors,
    )
    return page, 422 if errors else 200


def _edit_page(add_on: AddOn, values: dict, errors: dict):
    page = render_template(
        "admin/add_on.html",
        add_on=add_on,
        trip=add_on.trip,
        event=add_on.trip.event,
        values=values,
        errors=errors,
    )
    return page, 422 if errors else 200
