"""Stripe's wire format, for the fake Stripe server: bracket-notation form bodies, ids, the
error envelope and webhook signatures. Standard library only."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time
from typing import Any
from urllib.parse import parse_qsl

_ID_ALPHABET = string.ascii_letters + string.digits
# Stripe keys whose sub-keys are free-form: never turn them into lists.
_FREE_FORM = {"metadata"}


def new_id(prefix: str) -> str:
    """A Stripe-looking id such as `pi_3PqA...` (24 random characters after the prefix)."""
    return f"{prefix}_{''.join(secrets.choice(_ID_ALPHABET) for _ in range(24))}"


def now() -> int:
    return int(time.time())


def parse_form(body: str) -> dict[str, Any]:
    """Parse Stripe's form encoding into nested dicts and lists.

    `metadata[pledge_id]=x`, `payment_method_types[0]=card` and `expand[]=a` become
    `{"metadata": {"pledge_id": "x"}, "payment_method_types": ["card"], "expand": ["a"]}`.
    Values stay strings, as on the wire.
    """
    root: dict[str, Any] = {}
    for raw_key, value in parse_qsl(body, keep_blank_values=True):
        head, _, rest = raw_key.partition("[")
        path = [head] + (rest.rstrip("]").split("][") if rest else [])
        node = root
        for depth, part in enumerate(path):
            key = part if part else str(len(node))  # `x[]` appends
            if depth == len(path) - 1:
                node[key] = value
            else:
                child = node.setdefault(key, {})
                if not isinstance(child, dict):
                    raise StripeError.invalid(f"Invalid array: {raw_key}", param=head)
                node = child
    return _listify(root)


def _listify(node: Any, key: str = "") -> Any:
    if not isinstance(node, dict):
        return node
    items = {name: _listify(value, name) for name, value in node.items()}
    if key not in _FREE_FORM and items and all(name.isdigit() for name in items):
        return [items[name] for name in sorted(items, key=int)]
    return items


def list_object(url: str, data: list[dict], limit: int = 10) -> dict[str, Any]:
    """Stripe's list envelope, newest first."""
    ordered = sorted(data, key=lambda item: item["created"], reverse=True)
    return {"object": "list", "url": url, "has_more": len(ordered) > limit, "data": ordered[:limit]}


class StripeError(Exception):
    """An error answer in Stripe's envelope: `{"error": {"type": ..., "message": ..., ...}}`.

    `stored` is False for errors Stripe raises before an endpoint starts executing (validation,
    auth, injected network faults): those are not saved under an idempotency key.
    """

    def __init__(self, status: int, error: dict[str, Any], *, stored: bool = True, headers=None):
        super().__init__(error.get("message"))
        self.status = status
        self.error = {key: value for key, value in error.items() if value is not None}
        self.stored = stored
        self.headers = dict(headers or {})

    @property
    def body(self) -> dict[str, Any]:
        return {"error": self.error}

    @classmethod
    def invalid(cls, message, *, param=None, code=None, status=400, stored=False) -> StripeError:
        """400 invalid_request_error; by default a validation error (not stored)."""
        error = {"type": "invalid_request_error", "message": message, "param": param, "code": code}
        return cls(status, error, stored=stored)

    @classmethod
    def missing(cls, kind: str, object_id: str, *, param: str | None = None) -> StripeError:
        """resource_missing: 404 for an id in the path, 400 for an id passed as `param`."""
        return cls.invalid(
            f"No such {kind}: '{object_id}'",
            param=param or "id",
            code="resource_missing",
            status=400 if param else 404,
            stored=bool(param),
        )

    @classmethod
    def unexpected_state(cls, message: str, kind: str = "payment_intent") -> StripeError:
        return cls.invalid(message, code=f"{kind}_unexpected_state", stored=True)

    @classmethod
    def card(cls, code: str, decline_code: str | None, message: str, **objects) -> StripeError:
        """402 card_error; `objects` are the payment_intent/setup_intent/payment_method/charge."""
        error = {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": message,
            "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
            **objects,
        }
        return cls(402, error)

    @classmethod
    def fault(cls, status: int, should_retry: bool | None = None) -> StripeError:
        """An injected server-side failure (429 rate limit or 5xx api_error); never stored."""
        headers = {}
        if should_retry is not None:
            headers["Stripe-Should-Retry"] = "true" if should_retry else "false"
        if status == 429:
            headers.setdefault("Retry-After", "1")
            error = {
                "type": "invalid_request_error",
                "code": "rate_limit",
                "message": "Too many requests hit the API too quickly. We recommend an "
                "exponential backoff of your requests.",
            }
        else:
            error = {
                "type": "api_error",
                "message": "An unknown error occurred (injected by the fake Stripe server).",
            }
        return cls(status, error, stored=False, headers=headers)


def sign_stripe_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A valid `Stripe-Signature` header for `payload`: `t=<ts>,v1=<HMAC-SHA256 hex>`."""
    timestamp = now() if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"
