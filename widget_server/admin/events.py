"""Events: create, edit, and an event's page with its trips."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from widget_server.admin import bp
from widget_server.admin.auth import actor, owned, requires
from widget_server.admin.helpers import partner_zone
from widget_server.admin.schemas import local_input, price_rule_values, read_event, zone_choices
from widget_server.domain import catalog
from widget_server.domain.errors import DomainError
from widget_server.extensions import db
from widget_server.models import Event, Trip


def _event_values(event: Event | None) -> dict:
    if event is None:
        return {"timezone": partner_zone()}
    return {
        "title": event.title,
        "venue": event.venue,
        "starts_at": local_input(event.starts_at, event.timezone),
        "timezone": event.timezone,
    } | price_rule_values(event.group_tiers or [], [], event.timezone, "")


def _problem(exc: DomainError) -> tuple[dict, str]:
    return exc.errors or {"_form": [exc.detail]}, exc.detail


@bp.route("/events/new", methods=["GET", "POST"])
@requires("catalog")
def new_event():
    """A new event: title, venue, start in its own time zone."""
    values, errors = _event_values(None), {}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            with db.transaction() as session:
                event = catalog.create_event(
                    session, g.partner, actor=actor(), **read_event(request.form)
                )
        except DomainError as exc:
            errors, _detail = _problem(exc)
        else:
            return redirect(url_for("admin.event", event_id=event.id))
    status = 422 if errors else 200
    return render_template(
        "admin/event_form.html",
        title=_("New event"),
        values=values,
        errors=errors,
        event=None,
        zones=zone_choices(),
    ), status


@bp.get("/events/<event_id>")
@requires("view")
def event(event_id: str):
    """An event, its trips, and (for editors) its edit form."""
    event = owned(Event, event_id)
    return _event_page(event, _event_values(event), {})


@bp.post("/events/<event_id>")
@requires("catalog")
def update_event(event_id: str):
    """Save the event's edit form."""
    event = owned(Event, event_id)
    try:
        with db.transaction() as session:
            catalog.update_event(
                session,
                event,
                read_event(request.form, current_zone=event.timezone),
                actor=actor(),
            )
    except DomainError as exc:
        db.session.refresh(event)
        return _event_page(event, request.form.to_dict(), _problem(exc)[0])
    return redirect(url_for("admin.event", event_id=event.id))


def _event_page(event: Event, values: dict, errors: dict):
    trips = list(
        db.session.scalars(
            select(Trip).where(Trip.event_id == event.id).order_by(Trip.pledge_deadline)
        )
    )
    page = render_template(
        "admin/event.html",
        event=event,
        values=values,
        errors=errors,
        trips_by_event={event.id: trips},
        zones=zone_choices(),
    )
    return page, 422 if errors else 200
