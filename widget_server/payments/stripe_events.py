"""Stripe's webhook events, read: the signature checked, and what an event says about a charge
or a refund put in the provider-neutral words of `payments` (`ChargeNews`, `RefundNews`).

Nothing here decides what the news changes, and nothing here moves money: the domain
(`domain/payment_events.py`) decides, and the face that receives the webhook
(`inbound/stripe.py`) calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe

from widget_server.payments import ChargeResult


class InvalidSignature(ValueError):
    """The payload is not one Stripe signed with this endpoint's secret."""


@dataclass(frozen=True)
class ProviderEvent:
    """One verified provider event: its id (for duplicates), type, and what it reports."""

    id: str
    type: str
    created: int
    object_ref: str | None
    news: ChargeNews | RefundNews | None


@dataclass(frozen=True)
class ChargeNews:
    """A charge attempt ended: for `pledge_id`, under the attempt's idempotency key."""

    pledge_id: str
    attempt_key: str | None
    result: ChargeResult


@dataclass(frozen=True)
class RefundNews:
    """A refund of the payment `payment_intent_ref` went through as `refund_ref`."""

    payment_intent_ref: str | None
    refund_ref: str


def read_event(payload: bytes, signature: str, secret: str) -> ProviderEvent:
    """The event of a webhook request, verified with `secret`; InvalidSignature otherwise."""
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise InvalidSignature("the Stripe-Signature header does not match this payload") from exc
    # StripeObjects are not dicts (no .get); what follows reads plain dicts.
    obj = event.data.object.to_dict()
    return ProviderEvent(event.id, event.type, event.created, obj.get("id"), _news(event.type, obj))


def _news(event_type: str, obj: dict) -> ChargeNews | RefundNews | None:
    if event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        metadata = obj.get("metadata") or {}
        if event_type == "payment_intent.succeeded":
            result = ChargeResult("succeeded", obj["id"])
        else:
            error = obj.get("last_payment_error") or {}
            code = error.get("code") or "card_declined"
            status = "requires_action" if code == "authentication_required" else "declined"
            result = ChargeResult(status, obj["id"], code, error.get("message"))
        return ChargeNews(metadata.get("pledge_id") or "", metadata.get("idempotency_key"), result)
    if event_type == "charge.refunded":
        refunds = (obj.get("refunds") or {}).get("data") or [{}]
        return RefundNews(obj.get("payment_intent"), refunds[0].get("id") or "stripe")
    return None
