"""Sponsors in the console: who presents an event or a trip (name, https link, logo), at
`/admin/events/<id>/sponsor` and `/admin/trips/<id>/sponsor`. The rules are
`domain/sponsors.py`'s; the logo file is checked and re-encoded like the partner's
(`admin/branding.py:logo_choice`)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from widget_server.admin import bp
from widget_server.admin.auth import actor, owned, requires
from widget_server.admin.branding import LOGO_MESSAGES, logo_choice
from widget_server.domain.errors import DomainError, field_errors
from widget_server.domain.logos import MAX_LOGO_BYTES, LogoRefused
from widget_server.domain.sponsors import SponsorInput, set_sponsor
from widget_server.extensions import db
from widget_server.models import Event, Trip


@bp.get("/events/<event_id>/sponsor")
@requires("view")
def event_sponsor(event_id: str):
    """The event's sponsor form (its trips show it unless they have their own)."""
    return _page(owned(Event, event_id))


@bp.post("/events/<event_id>/sponsor")
@requires("catalog")
def save_event_sponsor(event_id: str):
    return _save(owned(Event, event_id))


@bp.get("/trips/<trip_id>/sponsor")
@requires("view")
def trip_sponsor(trip_id: str):
    """The trip's own sponsor form (it wins over the event's)."""
    return _page(owned(Trip, trip_id))


@bp.post("/trips/<trip_id>/sponsor")
@requires("catalog")
def save_trip_sponsor(trip_id: str):
    return _save(owned(Trip, trip_id))


def _values(owner: Event | Trip) -> dict:
    sponsor = owner.sponsor
    return {"name": sponsor.name, "url": sponsor.url or ""} if sponsor else {}


def _page(owner: Event | Trip, values: dict | None = None, errors: dict | None = None):
    page = render_template(
        "admin/sponsor.html",
        owner=owner,
        is_trip=isinstance(owner, Trip),
        event=owner.event if isinstance(owner, Trip) else owner,
        sponsor=owner.sponsor,
        values=_values(owner) if values is None else values,
        errors=errors or {},
        logo_kb=MAX_LOGO_BYTES // 1024,
    )
    return page, 422 if errors else 200


def _save(owner: Event | Trip):
    """Save (or, with the "remove" button, take away) the sponsor; any invalid field is
    refused naming it, the typed values kept."""
    back = (
        url_for("admin.trip", trip_id=owner.id)
        if isinstance(owner, Trip)
        else url_for("admin.event", event_id=owner.id)
    )
    if request.form.get("action") == "remove":
        with db.transaction() as session:
            set_sponsor(session, owner, None, actor=actor())
        flash(_("The sponsor was removed."))
        return redirect(back)
    values = {"name": request.form.get("name", ""), "url": request.form.get("url", "")}
    errors: dict = {}
    try:
        data = SponsorInput().load(values)
    except ValidationError as exc:
        errors.update(field_errors(exc.messages))
    try:
        logo = logo_choice(request.files, request.form)
    except LogoRefused as exc:
        errors["logo"] = [str(LOGO_MESSAGES[exc.reason])]
    if errors:
        return _page(owner, values, errors)
    try:
        with db.transaction() as session:
            set_sponsor(
                session,
                owner,
                data,
                actor=actor(),
                logo=None if logo == "remove" else logo,
                remove_logo=logo == "remove",
            )
    except DomainError as exc:
        db.session.rollback()
        return _page(owner, values, exc.errors or {"_form": [exc.detail]})
    flash(_("Sponsor saved. Fans see it now."))
    return redirect(back)
