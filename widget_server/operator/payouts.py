"""Payouts in the operator portal: what the operator was paid or is owed per completed trip,
totals per currency, the statement as CSV (every payout, or one trip's), and connecting the
operator's Stripe account (Stripe Connect Express onboarding)."""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from widget_server import services
from widget_server.domain.operators import connect
from widget_server.domain.operators.payouts import statement, statement_csv, totals
from widget_server.extensions import db
from widget_server.models import Trip
from widget_server.operator import bp
from widget_server.operator.auth import PERMISSIONS, actor, requires
from widget_server.payments import PaymentError, PermanentPaymentError


def status_names() -> dict[str, str]:
    return {
        "pending": _("Owed"),
        "paid": _("Paid"),
        "failed": _("Failed"),
        "canceled": _("Canceled"),
    }


def _account_state() -> str:
    """none (no account), ready, incomplete (onboarding unfinished) or unknown (unreadable)."""
    if g.operator.stripe_account_id is None:
        return "none"
    state = connect.account_state(services.payments(), g.operator)
    if state is None:
        return "unknown"
    return "ready" if state.transfers_enabled else "incomplete"


@bp.get("/payouts")
@requires("view")
def payouts():
    lines = statement(db.session, g.operator.id)
    return render_template(
        "operator/payouts.html",
        lines=lines,
        totals=totals(lines),
        status_names=status_names(),
        account_state=_account_state(),
        can_connect=g.admin.role in PERMISSIONS["profile"],
    )


@bp.get("/payouts.csv")
@requires("view")
def payouts_csv():
    return _csv(statement(db.session, g.operator.id), f"payouts-{g.operator.slug}.csv")


@bp.get("/trips/<trip_id>/statement.csv")
@requires("view")
def trip_statement(trip_id: str):
    """One trip's statement; a trip never awarded to this operator is 404."""
    lines = statement(db.session, g.operator.id, trip_id=trip_id)
    if not lines:
        trip = db.session.get(Trip, trip_id)
        if trip is None or trip.operator_id != g.operator.id:
            abort(404)
    return _csv(lines, f"statement-{trip_id}.csv")


def _csv(lines, filename: str) -> Response:
    return Response(
        statement_csv(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.post("/payouts/connect")
@requires("profile")
def connect_stripe():
    """Make the operator's Stripe account if needed and send the owner to its onboarding
    (owners only: it is where the company's money goes)."""
    return _to_onboarding()


@bp.get("/payouts/connect")
@requires("profile")
def refresh_connect():
    """Stripe's `refresh_url`: the onboarding link expired or was used; make a new one. Only
    for an account that exists (nothing is created on a GET)."""
    if g.operator.stripe_account_id is None:
        return redirect(url_for("operator.payouts"))
    return _to_onboarding()


def _to_onboarding():
    try:
        link = connect.onboarding_link(
            services.payments(),
            g.operator.id,
            email=g.operator.contact_email or g.admin.email,
            return_url=url_for("operator.connected", _external=True),
            refresh_url=url_for("operator.refresh_connect", _external=True),
            actor=actor(),
        )
    except (PaymentError, PermanentPaymentError):
        flash(_("Stripe could not be reached. Please try again in a minute."))
        return redirect(url_for("operator.payouts"))
    return redirect(link, code=303)


@bp.get("/payouts/connected")
@requires("view")
def connected():
    """Stripe's `return_url`: back from onboarding. Payouts waiting for the account are sent
    as soon as it can receive them."""
    if connect.returned_from_onboarding(services.payments(), g.operator.id):
        flash(_("Your Stripe account is connected: payouts are on their way."))
    else:
        flash(_("Stripe still needs some details before it can pay you."))
    return redirect(url_for("operator.payouts"))
