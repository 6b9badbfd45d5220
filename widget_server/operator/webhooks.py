"""The operator's webhook endpoints (owners only): add one (its signing secret is shown once),
see them, delete one. The endpoints get the operator's news (`webhooks.outbox.
OPERATOR_EVENT_TYPES`), signed and retried like a partner's (Standard Webhooks)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from widget_server.backoffice.webhooks import create_from_form
from widget_server.extensions import db
from widget_server.models import WebhookEndpoint
from widget_server.operator import bp
from widget_server.operator.auth import actor, requires
from widget_server.webhooks import endpoints
from widget_server.webhooks.outbox import OPERATOR_EVENT_TYPES


def _page(*, errors=None, values=None, secret=None, status=200):
    listing = db.session.scalars(
        endpoints.endpoints_query(None, operator_id=g.operator.id).order_by(
            WebhookEndpoint.created_at
        )
    )
    page = render_template(
        "operator/webhooks.html",
        endpoints=list(listing),
        event_types=OPERATOR_EVENT_TYPES,
        action=url_for("operator.create_webhook"),
        errors=errors or {},
        values=values or {},
        secret=secret,
    )
    return page, status


@bp.get("/webhooks")
@requires("profile")
def webhooks():
    return _page()


@bp.post("/webhooks")
@requires("profile")
def create_webhook():
    """A new endpoint; its signing secret appears on this one answer only."""
    made = create_from_form(g.operator)
    if made.errors:
        return _page(errors=made.errors, values=made.values, status=made.status)
    return _page(secret={"endpoint_id": made.endpoint_id, "value": made.secret}, status=201)


@bp.post("/webhooks/<endpoint_id>/delete")
@requires("profile")
def delete_webhook(endpoint_id: str):
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.operator_id != g.operator.id:
        abort(404)
    with db.transaction() as session:
        endpoints.delete_endpoint(session, endpoint, actor=actor())
    flash(_("The endpoint is deleted."))
    return redirect(url_for("operator.webhooks"))
