"""The driver's check-in link from the trip page: issue (or re-issue, ending the old link),
revoke, and email it to the trip's operator or an address the admin types. Same role as every
other trip action (`catalog`); each step is audited by domain.checkin."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _

from widget_server.admin import bp
from widget_server.admin.auth import actor, owned, requires
from widget_server.admin.helpers import act
from widget_server.admin.trips import trip_page
from widget_server.backoffice.messages import console_message
from widget_server.domain import checkin
from widget_server.domain.errors import DomainError, ValidationFailed
from widget_server.extensions import db
from widget_server.models import Trip


@bp.app_template_global()
def driver_link_url(trip: Trip) -> str | None:
    """The full address of the trip's live driver link, or None if it has none."""
    link = checkin.current_driver_link(trip)
    if link is None:
        return None
    settings = current_app.config["SETTINGS"]
    return checkin.driver_url(settings.public_base_url, settings.secret_key, link)


def _back(trip: Trip):
    return redirect(url_for("admin.trip", trip_id=trip.id, _anchor="driver-link-h"))


@bp.post("/trips/<trip_id>/driver_link")
@requires("catalog")
def issue_driver_link(trip_id: str):
    """A new driver link; any older one stops working."""
    trip = owned(Trip, trip_id)
    renewed = checkin.current_driver_link(trip) is not None
    act(
        lambda session: checkin.new_driver_link(session, trip, actor=actor()),
        _("A new driver link is ready; the old one no longer works.")
        if renewed
        else _("The driver link is ready. Send it to the driver."),
    )
    return _back(trip)


@bp.post("/trips/<trip_id>/driver_link/revoke")
@requires("catalog")
def revoke_driver_link(trip_id: str):
    """End the trip's driver links without issuing a new one."""
    trip = owned(Trip, trip_id)
    act(
        lambda session: checkin.revoke_driver_links(session, trip, actor=actor()),
        _("The driver link no longer works."),
    )
    return _back(trip)


@bp.post("/trips/<trip_id>/driver_link/email")
@requires("catalog")
def email_driver_link(trip_id: str):
    """Email the live link to the operator's address, or to the one the admin typed."""
    trip = owned(Trip, trip_id)
    typed = (request.form.get("email") or "").strip()
    try:
        with db.transaction() as session:
            address = checkin.email_driver_link(
                session, trip, typed or trip.operator_email or "", actor=actor()
            )
    except ValidationFailed as exc:
        db.session.rollback()
        return trip_page(trip, link_errors=exc.errors, link_email=typed)
    except DomainError as exc:
        db.session.rollback()
        flash(console_message(exc.detail))
        return _back(trip)
    flash(_("The driver link is on its way to %(email)s.", email=address))
    return _back(trip)
