"""Fan data requests in the console: download one fan's data as JSON, or erase the person
(financial records stay), as the API's /v1/fans and `ridepledge fans` do (docs/privacy.md).

Owners and editors answer these requests (they already see pledges); the address travels in
the POST body, never in a URL, so it stays out of access logs and browser history."""

from __future__ import annotations

import json

from flask import Response, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from widget_server.admin import bp
from widget_server.admin.auth import actor, requires
from widget_server.admin.forms import FanErasureForm, FanRequestForm
from widget_server.domain.audit import record
from widget_server.domain.privacy import erase_fan, export_fan_data
from widget_server.domain.text import email_key, normalize_email
from widget_server.extensions import db

EXPORTED_KINDS = ("pledges", "demand_requests", "waitlist_entries", "stop_requests", "emails")


def _address(form) -> str | None:
    """The form's address as stored, or None with the field's error set."""
    if not form.validate_on_submit():
        return None
    try:
        return normalize_email(form.email.data)
    except ValueError:
        form.email.errors = [_("Enter an email address such as fan@example.com.")]
        return None


def _page(form, status: int = 200):
    return render_template("admin/fans.html", form=form), status


@bp.get("/fans")
@requires("catalog")
def fans():
    return _page(FanRequestForm())


@bp.post("/fans/export")
@requires("catalog")
def fan_export():
    """The fan's data as a JSON download; the audit log notes the export (without the address)."""
    form = FanRequestForm()
    address = _address(form)
    if address is None:
        return _page(form, 422)
    data = export_fan_data(db.session, g.partner, address)
    counts = {kind: len(data[kind]) for kind in EXPORTED_KINDS}
    with db.transaction() as session:
        record(session, g.partner.id, actor(), "fan.exported", "partner", g.partner.id, counts)
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="fan-data.json"'},
    )


@bp.post("/fans/erase")
@requires("catalog")
def fan_erase():
    """First a summary of what goes and a confirmation (the address typed again), then the
    erasure."""
    form = FanErasureForm()
    address = _address(form)
    if address is None:
        return _page(form, 422)
    typed = (form.confirm.data or "").strip()
    if not typed or email_key(typed) != email_key(address):
        if typed:
            form.confirm.errors = [_("Type the same address to confirm.")]
        data = export_fan_data(db.session, g.partner, address)
        counts = {kind: len(data[kind]) for kind in EXPORTED_KINDS}
        page = render_template("admin/fan_erase.html", form=form, address=address, counts=counts)
        return page, 422 if typed else 200
    with db.transaction() as session:
        counts = erase_fan(session, g.partner, address, actor=actor())
    flash(
        _(
            "The fan's data is erased (%(count)s records); the financial records stay.",
            count=sum(counts.values()),
        )
    )
    return redirect(url_for("admin.fans"))
