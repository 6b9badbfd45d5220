"""Webhook endpoints for the partner's developers: create (the signing secret is shown once),
roll the secret (both signatures during the overlap), disable/enable, send a test event, the
delivery log with every attempt, resend one delivery or every failed one since a date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from widget_server.admin import bp
from widget_server.admin.auth import actor, owned, requires
from widget_server.admin.helpers import act, partner_zone
from widget_server.backoffice.webhooks import create_from_form
from widget_server.domain.errors import DomainError
from widget_server.extensions import db
from widget_server.models import WebhookDelivery, WebhookEndpoint
from widget_server.webhooks import endpoints, manage
from widget_server.webhooks.outbox import EVENT_TYPES


def _settings():
    return current_app.config["SETTINGS"]


def _list_page(errors: dict | None = None, values: dict | None = None, status=200):
    listing = db.session.scalars(
        endpoints.endpoints_query(g.partner.id).order_by(WebhookEndpoint.created_at)
    )
    page = render_template(
        "admin/webhooks.html",
        endpoints=list(listing),
        event_types=EVENT_TYPES,
        errors=errors or {},
        values=values or {},
    )
    return page, status


def _endpoint_page(endpoint, *, secret=None, test=None, errors=None, status=200):
    page = render_template(
        "admin/webhook.html",
        endpoint=endpoint,
        deliveries=manage.delivery_log(db.session, endpoint),
        secret=secret,
        test=test,
        errors=errors or {},
        today=datetime.now(ZoneInfo(partner_zone())).date().isoformat(),
    )
    return page, status


@bp.get("/webhooks")
@requires("developers")
def webhooks():
    return _list_page()


@bp.post("/webhooks")
@requires("developers")
def create_webhook():
    """A new endpoint; its signing secret appears on this one answer only."""
    made = create_from_form(g.partner)
    if made.errors:
        return _list_page(made.errors, made.values, status=made.status)
    endpoint = db.session.get(WebhookEndpoint, made.endpoint_id)
    return _endpoint_page(endpoint, secret=made.secret, status=201)


@bp.get("/webhooks/<endpoint_id>")
@requires("developers")
def webhook(endpoint_id: str):
    return _endpoint_page(owned(WebhookEndpoint, endpoint_id))


@bp.post("/webhooks/<endpoint_id>/roll")
@requires("developers")
def roll_webhook_secret(endpoint_id: str):
    """A new secret shown once; the old one still signs (next to it) for 24 hours."""
    endpoint = owned(WebhookEndpoint, endpoint_id)
    with db.transaction() as session:
        endpoint, secret = endpoints.rotate_secret(
            session, endpoint, settings=_settings(), actor=actor()
        )
    return _endpoint_page(db.session.get(WebhookEndpoint, endpoint_id), secret=secret)


@bp.post("/webhooks/<endpoint_id>/status")
@requires("developers")
def set_webhook_status(endpoint_id: str):
    endpoint = owned(WebhookEndpoint, endpoint_id)
    wanted = request.form.get("status", "")
    try:
        with db.transaction() as session:
            endpoints.update_endpoint(
                session, endpoint, {"status": wanted}, settings=_settings(), actor=actor()
            )
    except DomainError as exc:
        return _endpoint_page(endpoint, errors=exc.errors or {"_form": [exc.detail]}, status=422)
    flash(_("The endpoint is enabled.") if wanted == "enabled" else _("The endpoint is disabled."))
    return redirect(url_for("admin.webhook", endpoint_id=endpoint_id))


@bp.post("/webhooks/<endpoint_id>/test")
@requires("developers")
def test_webhook(endpoint_id: str):
    """Send a signed test event now and show what the receiver answered."""
    endpoint = owned(WebhookEndpoint, endpoint_id)
    try:
        message = manage.test_message(endpoint, settings=_settings())
    except DomainError as exc:
        return _endpoint_page(endpoint, errors={"_form": [exc.detail]}, status=exc.status)
    db.session.rollback()  # no transaction stays open while we wait for the receiver
    outcome = manage.send_test_event(message, settings=_settings())
    with db.transaction() as session:
        manage.record_test(session, message, outcome, actor=actor())
    return _endpoint_page(owned(WebhookEndpoint, endpoint_id), test=outcome)


@bp.post("/webhooks/deliveries/<delivery_id>/resend")
@requires("developers")
def resend_webhook_delivery(delivery_id: str):
    delivery = owned(WebhookDelivery, delivery_id)
    endpoint_id = delivery.endpoint_id
    act(
        lambda session: endpoints.retry_delivery(session, delivery, actor=actor()),
        _("The delivery is queued to be sent again."),
    )
    return redirect(url_for("admin.webhook", endpoint_id=endpoint_id))


@bp.post("/webhooks/<endpoint_id>/resend-failed")
@requires("developers")
def resend_failed_webhooks(endpoint_id: str):
    """Every failed delivery created on or after the chosen day (from its midnight in the
    partner's time zone, as the console shows times) gets another attempt."""
    endpoint = owned(WebhookEndpoint, endpoint_id)
    try:
        day = date.fromisoformat(request.form.get("since", "").strip())
    except ValueError:
        errors = {"since": [_("Give a date as YYYY-MM-DD.")]}
        return _endpoint_page(endpoint, errors=errors, status=422)
    since = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(partner_zone())).astimezone(UTC)
    try:
        with db.transaction() as session:
            count = manage.resend_failed_since(session, endpoint, since, actor=actor())
    except DomainError as exc:
        return _endpoint_page(endpoint, errors={"_form": [exc.detail]}, status=exc.status)
    flash(_("%(count)s failed deliveries are queued to be sent again.", count=count))
    return redirect(url_for("admin.webhook", endpoint_id=endpoint_id))
