"""Verifying the webhooks RidePledge sends (Standard Webhooks 1.0).

```python
event = ridepledge.webhooks.verify(request.get_data(), request.headers, ENDPOINT_SECRET)
```

`construct_event` does the same and returns a typed event (`ridepledge.PledgePaidEvent`,
`ridepledge.TripConfirmedEvent`, ...: see `ridepledge.webhook_events`), `data` already a
`Pledge`, a `Trip`...; both clients expose it too (`client.construct_event`).

`verify` checks that one of the message's signatures (``webhook-signature`` holds two during
a secret rotation) is an HMAC-SHA256 of ``"{webhook-id}.{webhook-timestamp}.{body}"`` under
your endpoint secret, compared in constant time, and that the timestamp is within
`tolerance` (5 minutes) of your clock, which stops replays of old messages. Pass the raw
body, byte for byte, never a re-serialized parse of it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ridepledge.errors import RidePledgeError
from ridepledge.models import DemandThreshold, Pledge, Trip, from_api, parse_datetime
from ridepledge.webhook_events import Event, typed_event

__all__ = [
    "DEFAULT_TOLERANCE",
    "WebhookEvent",
    "WebhookVerificationError",
    "construct_event",
    "sign",
    "verify",
]

DEFAULT_TOLERANCE = 300  # seconds
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)  # nosec B105


class WebhookVerificationError(RidePledgeError):
    """The message is not from RidePledge, was changed, or is too old (answer 400)."""


@dataclass(frozen=True)
class WebhookEvent:
    """A verified message: `id` is the ``webhook-id`` (the same on every retry: use it to skip
    messages you already handled), `type` e.g. ``"pledge.paid"``, `timestamp` when the event
    happened, `data` the object as the API showed it then."""

    id: str
    type: str
    timestamp: datetime | None
    data: dict[str, Any]
    raw: dict[str, Any]

    def object(self) -> Pledge | Trip | DemandThreshold | dict[str, Any]:
        """`data` as a typed result: a `Pledge` for ``pledge.*``, a `Trip` for ``trip.*``, a
        `DemandThreshold` for ``demand.threshold_reached``; the dict for types added later."""
        family = self.type.split(".", 1)[0]
        kind = {"pledge": Pledge, "trip": Trip, "demand": DemandThreshold}.get(family)
        return from_api(kind, self.data) if kind is not None else self.data


def verify(
    body: bytes | str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    secret: str | Iterable[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookEvent:
    """The event in a webhook request, or `WebhookVerificationError`.

    `headers` is any mapping (Flask's `request.headers`, Django's `request.headers`, a dict)
    and is looked up without regard to case. `secret` is your endpoint's ``whsec_...``
    secret, or several of them (the message passes if any one signed it), e.g. while you
    deploy a rotated secret. `now` (Unix time) is for tests.
    """
    lowered = _lowercase(headers)
    msg_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise WebhookVerificationError(
            "missing webhook-id, webhook-timestamp or webhook-signature header"
        )
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a Unix time") from None
    current = time.time() if now is None else now
    if sent_at < current - tolerance:
        raise WebhookVerificationError("the message is too old (webhook-timestamp)")
    if sent_at > current + tolerance:
        raise WebhookVerificationError("the message is from the future (webhook-timestamp)")

    payload = body.encode() if isinstance(body, str) else bytes(body)
    offered = [
        value
        for version, _, value in (s.partition(",") for s in signatures.split())
        if version == "v1"
    ]
    keys = [_key(item) for item in ([secret] if isinstance(secret, str) else list(secret))]
    if not keys:
        raise ValueError("no secret given")
    matched = False
    for key in keys:
        expected = _signature(key, msg_id, timestamp, payload)
        for candidate in offered:
            # Every pair is compared (no early exit) so timing says nothing about which matched.
            matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    if not matched:
        raise WebhookVerificationError("no valid signature (wrong secret, or the body changed)")

    try:
        message = json.loads(payload)
    except ValueError:
        raise WebhookVerificationError("the body is not JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise WebhookVerificationError("the body is not a RidePledge event")
    happened = message.get("timestamp")
    data = message.get("data")
    return WebhookEvent(
        id=msg_id,
        type=message["type"],
        timestamp=parse_datetime(happened) if isinstance(happened, str) else None,
        data=data if isinstance(data, dict) else {},
        raw=message,
    )


def construct_event(
    body: bytes | str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    secret: str | Iterable[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Event:
    """Verify a webhook request as `verify` does and return its typed event: one class per
    event type (`PledgeCreatedEvent`, `TripConfirmedEvent`, `DemandThresholdReachedEvent`,
    ...), whose `data` is the typed result; `UnknownEvent` for a type added after this SDK.
    Raises `WebhookVerificationError` as `verify` does. It sends nothing, so the async client
    exposes it as a plain function too."""
    event = verify(body, headers, secret, tolerance=tolerance, now=now)
    return typed_event(event.id, event.type, event.timestamp, event.data, event.raw)


def sign(secret: str, msg_id: str, timestamp: int | datetime, body: bytes | str) -> str:
    """A ``webhook-signature`` value (``v1,<base64>``), as RidePledge signs; for tests of your
    receiver."""
    if isinstance(timestamp, datetime):
        timestamp = int(timestamp.astimezone(UTC).timestamp())
    payload = body.encode() if isinstance(body, str) else body
    return "v1," + _signature(_key(secret), msg_id, str(timestamp), payload)


def _signature(key: bytes, msg_id: str, timestamp: str, payload: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + payload
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the secret is not a whsec_<base64> endpoint secret") from None


def _lowercase(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    # werkzeug's Headers is not a Mapping but has items(); a list of pairs has not.
    items = headers.items() if hasattr(headers, "items") else headers
    return {str(name).lower(): str(value) for name, value in items}
