"""`POST /stripe/webhook`: Stripe's signed events, a second path to the same outcomes.

The charge job normally records what Stripe answered; the webhook settles what a crashed job
could not (a PaymentIntent that succeeded after our process died). Events are verified with
STRIPE_WEBHOOK_SECRET, recorded by id so duplicates are ignored, and applied only when they
match the attempt the pledge is waiting on, so late or out-of-order events change nothing.
"""

from __future__ import annotations

import logging

import stripe
from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from widget_server.domain import settlement
from widget_server.domain.errors import DomainError
from widget_server.extensions import db
from widget_server.models import Pledge, StripeEventRecord
from widget_server.payments import ChargeResult

log = logging.getLogger(__name__)
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
    secret = current_app.config["SETTINGS"].stripe_webhook_secret
    if not secret:
        raise NotConfigured("set STRIPE_WEBHOOK_SECRET to receive Stripe events")
    try:
        event = stripe.Webhook.construct_event(
            request.get_data(), request.headers.get("Stripe-Signature", ""), secret
        )
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise BadSignature("the Stripe-Signature header does not match this payload") from exc
    try:
        with db.transaction() as session:
            if session.get(StripeEventRecord, event.id) is not None:
                return jsonify({"received": True, "duplicate": True})
            # StripeObjects are not dicts (no .get); the rules below read plain dicts.
            obj = event.data.object.to_dict()
            session.add(
                StripeEventRecord(
                    id=event.id,
                    type=event.type,
                    object_ref=obj.get("id"),
                    stripe_created=event.created,
                )
            )
            session.flush()
            apply_event(session, event.type, obj)
    except IntegrityError:  # the same event delivered twice at the same moment
        return jsonify({"received": True, "duplicate": True})
    return jsonify({"received": True})


def apply_event(session: Session, event_type: str, obj) -> None:
    """Bring a pledge in line with what Stripe reports, if it is still waiting for it."""
    if event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        pledge = _pledge_waiting_on(session, obj)
        if pledge is None:
            return
        if event_type == "payment_intent.succeeded":
            result = ChargeResult("succeeded", obj["id"])
        else:
            error = obj.get("last_payment_error") or {}
            code = error.get("code") or "card_declined"
            status = "requires_action" if code == "authentication_required" else "declined"
            result = ChargeResult(status, obj["id"], code, error.get("message"))
        settlement.finish_charge(session, settlement.current_attempt(pledge), result)
    elif event_type == "charge.refunded":
        pledge = session.scalar(
            select(Pledge).where(Pledge.payment_intent_ref == obj.get("payment_intent"))
        )
        # Only a refund we asked for; the refund job may hold the claim meanwhile, which
        # does not matter: whichever records it first wins and the other changes nothing.
        if pledge is not None and pledge.status == "paid" and pledge.refund_requested_at:
            attempt = settlement.RefundAttempt(pledge.id, pledge.payment_intent_ref, pledge.amount)
            refunds = (obj.get("refunds") or {}).get("data") or [{}]
            settlement.finish_refund(session, attempt, refunds[0].get("id") or "stripe")


def _pledge_waiting_on(session: Session, intent) -> Pledge | None:
    metadata = intent.get("metadata") or {}
    pledge = session.get(Pledge, metadata.get("pledge_id") or "")
    if pledge is None or pledge.status != "charging":
        return None
    if metadata.get("idempotency_key") != settlement.current_attempt(pledge).key:
        return None  # an earlier attempt's news: stale
    return pledge
