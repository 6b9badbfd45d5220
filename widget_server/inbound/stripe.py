"""`POST /stripe/webhook`: Stripe's signed events, a second path to the same outcomes.

The charge job normally records what Stripe answered; the webhook settles what a crashed job
could not. The event is verified and read by `payments/stripe_events.py` (STRIPE_WEBHOOK_SECRET),
then recorded and applied by `domain/payment_events.py`, in one transaction.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import IntegrityError

from widget_server.domain.errors import DomainError
from widget_server.domain.payment_events import record_provider_event
from widget_server.extensions import db
from widget_server.payments.stripe_events import InvalidSignature, read_event

bp = Blueprint("stripe_webhook", __name__)


class BadSignature(DomainError):
    status = 400
    title = "Invalid signature"
    type = "invalid-signature"


class NotConfigured(DomainError):
    status = 503
    title = "Stripe webhooks not configured"
    type = "not-configured"


@bp.post("/stripe/webhook")
def receive():
    """Verify, record and apply one Stripe event; a duplicate is acknowledged and ignored."""
    secret = current_app.config["SETTINGS"].stripe_webhook_secret
    if not secret:
        raise NotConfigured("set STRIPE_WEBHOOK_SECRET to receive Stripe events")
    try:
        event = read_event(request.get_data(), request.headers.get("Stripe-Signature", ""), secret)
    except InvalidSignature as exc:
        raise BadSignature(str(exc)) from exc
    try:
        with db.transaction() as session:
            applied = record_provider_event(session, event)
    except IntegrityError:  # the same event delivered twice at the same moment
        applied = False
    if not applied:
        return jsonify({"received": True, "duplicate": True})
    return jsonify({"received": True})
