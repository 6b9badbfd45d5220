"""Webhook endpoints and deliveries as partners manage them: create, update, delete, rotate the
secret, retry a delivery; and the rule for where we are willing to send a request (SSRF).

Plain Python over a Session: flushes, never commits, raises domain errors.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from widget_server.config import Settings
from widget_server.domain.audit import record
from widget_server.domain.errors import Conflict, ValidationFailed
from widget_server.domain.work import schedule
from widget_server.models import Partner, WebhookDelivery, WebhookEndpoint
from widget_server.models.types import rfc3339, utcnow
from widget_server.webhooks.outbox import EVENT_TYPES, OPERATOR_EVENT_TYPES
from widget_server.webhooks.secrets import decrypt_secret, encrypt_secret
from widget_server.webhooks.signing import new_secret

ALL_EVENTS = "*"
MAX_ENDPOINTS_PER_PARTNER = 16
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 500
PREVIOUS_SECRET_LIFETIME = timedelta(hours=24)
DISABLED_BY_PARTNER = "disabled through the API"
_EDITABLE = ("url", "events", "description", "status")
# IPv6 prefixes that carry an IPv4 address a gateway may forward to (NAT64 well-known prefix).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


# --- where we send requests --------------------------------------------------------------------


class UnsafeUrl(ValueError):
    """We will not send webhooks to this URL; the message says why, for the partner."""


def resolve_host(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (tests replace this to fake DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [parse_address(info[4][0]) for info in infos]


def parse_address(text: str) -> Address:
    """An address from a socket address string, without an IPv6 zone (`fe80::1%eth0`)."""
    return ipaddress.ip_address(text.split("%", 1)[0])


def address_refusal(address: Address, *, allow_loopback: bool) -> str | None:
    """Why we refuse to connect to `address` (e.g. "a private address"), or None if it is
    public (or loopback while loopback is allowed)."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return address_refusal(embedded, allow_loopback=allow_loopback)
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    for label, flagged in (
        ("an unspecified address", address.is_unspecified),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("a reserved address", address.is_reserved),
        ("a private address", address.is_private),
        ("a non-public address", not address.is_global),
    ):
        if flagged:
            return label
    return None


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def check_url(url: str, *, allow_loopback: bool) -> None:
    """Raise UnsafeUrl unless `url` is https to public addresses only (every address the host
    resolves to), or, with `allow_loopback`, http or https to loopback addresses only."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        raise UnsafeUrl("must be an absolute https:// URL")
    if scheme == "http" and not allow_loopback:
        raise UnsafeUrl("must use https")
    if "@" in parts.netloc:
        raise UnsafeUrl("must not contain a user name or password")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("must name a host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl("has an invalid port") from None
    try:
        addresses = resolve_host(host, port)
    except (OSError, UnicodeError, ValueError):
        raise UnsafeUrl(f"the host {host} does not resolve") from None
    if not addresses:
        raise UnsafeUrl(f"the host {host} does not resolve")
    if allow_loopback and all(address.is_loopback for address in addresses):
        return
    if scheme == "http":
        raise UnsafeUrl("must use https (http is only allowed to loopback addresses here)")
    for address in addresses:
        reason = address_refusal(address, allow_loopback=False)
        if reason:
            raise UnsafeUrl(
                f"the host {host} resolves to {reason} ({address}); "
                "webhooks are only sent to public addresses"
            )


@dataclass(frozen=True)
class CheckedUrl:
    """A webhook URL that passed every rule (`check_url`: its host resolved to allowed
    addresses). Made by `checked_url` BEFORE the transaction that stores it opens: a DNS
    answer can take seconds, and no transaction (its connection, its locks) waits on one.
    `create_endpoint` and `update_endpoint` take only this."""

    url: str


def checked_url(url: str, settings: Settings) -> CheckedUrl:
    """Check `url` (resolving its host): call with no transaction open. A 422 naming `url`."""
    return CheckedUrl(_valid_url(url, settings))


def _stored_url(url: CheckedUrl) -> str:
    if not isinstance(url, CheckedUrl):
        raise TypeError("pass checked_url(...), made before the transaction opened")
    return url.url


def _valid_url(url: str, settings: Settings) -> str:
    url = (url or "").strip()
    if not url:
        raise ValidationFailed.field("url", "is required")
    if len(url) > MAX_URL_LENGTH:
        raise ValidationFailed.field("url", f"must be at most {MAX_URL_LENGTH} characters")
    try:
        check_url(url, allow_loopback=settings.webhooks_allow_loopback)
    except UnsafeUrl as exc:
        raise ValidationFailed.field("url", str(exc)) from None
    return url


def event_types_for(endpoint_or_owner) -> tuple[str, ...]:
    """The event types an endpoint (or a new endpoint of this partner or operator) may
    subscribe to: an operator's endpoints get operator news, a partner's the partner events."""
    if isinstance(endpoint_or_owner, WebhookEndpoint):
        is_operator = endpoint_or_owner.operator_id is not None
    else:
        is_operator = not isinstance(endpoint_or_owner, Partner)
    return OPERATOR_EVENT_TYPES if is_operator else EVENT_TYPES


def _valid_events(events, allowed: tuple[str, ...]) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise ValidationFailed.field("events", 'must list at least one event type (or "*")')
    unknown = [event for event in events if event != ALL_EVENTS and event not in allowed]
    if unknown:
        raise ValidationFailed.field(
            "events",
            f"unknown event type {', '.join(map(str, unknown))}; "
            f'use "*" or any of {", ".join(allowed)}',
        )
    return list(dict.fromkeys(events))  # without duplicates, in the partner's order


def _valid_description(description: str | None) -> str | None:
    if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        raise ValidationFailed.field(
            "description", f"must be at most {MAX_DESCRIPTION_LENGTH} characters"
        )
    return description or None


# --- endpoints ---------------------------------------------------------------------------------


def endpoints_query(partner_id: str | None, *, operator_id: str | None = None) -> Select:
    """The partner's endpoints, or the operator's (for listing)."""
    if operator_id is not None:
        return select(WebhookEndpoint).where(WebhookEndpoint.operator_id == operator_id)
    return select(WebhookEndpoint).where(WebhookEndpoint.partner_id == partner_id)


def _owner_columns(owner) -> dict:
    """{"partner_id": ...} for a Partner, {"operator_id": ...} for an Operator."""
    return {"partner_id" if isinstance(owner, Partner) else "operator_id": owner.id}


def create_endpoint(
    session: Session,
    owner,
    *,
    url: CheckedUrl,
    events: list[str],
    description: str | None = None,
    settings: Settings,
    actor: str,
) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint of `owner` (a Partner or an Operator) with a fresh secret (`url`
    checked before the transaction: `checked_url`). Returns it with the plaintext secret,
    which is never readable again (only its encrypted form is stored)."""
    columns = _owner_columns(owner)
    ((column, owner_id),) = columns.items()
    count = session.scalar(select(func.count()).where(getattr(WebhookEndpoint, column) == owner_id))
    if count >= MAX_ENDPOINTS_PER_PARTNER:
        raise Conflict(
            f"at most {MAX_ENDPOINTS_PER_PARTNER} webhook endpoints are allowed; delete one first"
        )
    secret = new_secret()
    endpoint = WebhookEndpoint(
        **columns,
        url=_stored_url(url),
        events=_valid_events(events, event_types_for(owner)),
        description=_valid_description(description),
        status="enabled",
        secret_encrypted=encrypt_secret(settings.secret_key, secret),
    )
    session.add(endpoint)
    session.flush()
    record(
        session,
        endpoint.partner_id,
        actor,
        "webhook_endpoint.created",
        "webhook_endpoint",
        endpoint.id,
        {"url": endpoint.url, "events": endpoint.events},
        operator_id=endpoint.operator_id,
    )
    return endpoint, secret


def update_endpoint(
    session: Session, endpoint: WebhookEndpoint, changes: dict, *, settings: Settings, actor: str
) -> WebhookEndpoint:
    """Change any of `url` (a `CheckedUrl`, made before the transaction), `events`,
    `description`, `status` (`enabled` re-enables an endpoint disabled by a 410 or by the
    partner, and resumes its pending deliveries in order)."""
    unknown = set(changes) - set(_EDITABLE)
    if unknown:
        raise ValidationFailed.field(sorted(unknown)[0], "cannot be changed")
    values = {}
    if "url" in changes:
        values["url"] = _stored_url(changes["url"])
    if "events" in changes:
        values["events"] = _valid_events(changes["events"], event_types_for(endpoint))
    if "description" in changes:
        values["description"] = _valid_description(changes["description"])
    if "status" in changes:
        if changes["status"] not in ("enabled", "disabled"):
            raise ValidationFailed.field("status", 'must be "enabled" or "disabled"')
        values["status"] = changes["status"]
    changed = {name: value for name, value in values.items() if getattr(endpoint, name) != value}
    if not changed:
        return endpoint
    for name, value in changed.items():
        setattr(endpoint, name, value)
    if changed.get("status") == "enabled":
        endpoint.disabled_reason = None
        _resume(session, endpoint.id)
    elif changed.get("status") == "disabled":
        endpoint.disabled_reason = DISABLED_BY_PARTNER
    session.flush()
    record(
        session,
        endpoint.partner_id,
        actor,
        "webhook_endpoint.updated",
        "webhook_endpoint",
        endpoint.id,
        changed,
        operator_id=endpoint.operator_id,
    )
    return endpoint


def delete_endpoint(session: Session, endpoint: WebhookEndpoint, *, actor: str) -> None:
    """Delete the endpoint with its deliveries and their attempt log."""
    record(
        session,
        endpoint.partner_id,
        actor,
        "webhook_endpoint.deleted",
        "webhook_endpoint",
        endpoint.id,
        {"url": endpoint.url},
        operator_id=endpoint.operator_id,
    )
    session.delete(endpoint)
    session.flush()


def rotate_secret(
    session: Session,
    endpoint: WebhookEndpoint,
    *,
    settings: Settings,
    actor: str,
    now: datetime | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new secret, returned in plaintext once. The one it replaces still signs every message
    (next to the new one) for 24 hours, so the partner can switch without losing a delivery."""
    now = now or utcnow()
    secret = new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = now + PREVIOUS_SECRET_LIFETIME
    endpoint.secret_encrypted = encrypt_secret(settings.secret_key, secret)
    session.flush()
    record(
        session,
        endpoint.partner_id,
        actor,
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint",
        endpoint.id,
        {"previous_expires_at": rfc3339(endpoint.previous_secret_expires_at)},
        operator_id=endpoint.operator_id,
    )
    return endpoint, secret


def signing_secrets(endpoint: WebhookEndpoint, app_secret_key: str, now: datetime) -> list[str]:
    """The secrets that sign a message now: the current one, and the previous one while it is
    within its 24 hours after a rotation."""
    secrets = [decrypt_secret(app_secret_key, endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        secrets.append(decrypt_secret(app_secret_key, endpoint.previous_secret_encrypted))
    return secrets


# --- deliveries --------------------------------------------------------------------------------


def deliveries_query(
    partner_id: str | None, endpoint_id: str | None = None, *, operator_id: str | None = None
) -> Select:
    """The partner's (or the operator's) deliveries, optionally of one endpoint (for listing)."""
    if operator_id is not None:
        query = select(WebhookDelivery).where(WebhookDelivery.operator_id == operator_id)
    else:
        query = select(WebhookDelivery).where(WebhookDelivery.partner_id == partner_id)
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    return query


def retry_delivery(
    session: Session, delivery: WebhookDelivery, *, actor: str, now: datetime | None = None
) -> WebhookDelivery:
    """Give a failed or pending delivery an attempt now (same `webhook-id`). A failed one gets
    one more attempt; a pending one skips the rest of its wait and keeps its schedule. Ordering
    still holds: it goes as soon as no older delivery to the same endpoint is pending."""
    now = now or utcnow()
    if delivery.status == "succeeded":
        raise Conflict("this delivery already succeeded")
    if delivery.endpoint.status != "enabled":
        raise Conflict("the endpoint is disabled; enable it first")
    in_flight = (
        delivery.status == "pending"
        and delivery.next_attempt_at is not None
        and delivery.next_attempt_at > now
        and len(delivery.attempts) < delivery.attempt_count
    )
    if in_flight:
        raise Conflict("an attempt of this delivery is in progress; try again in a minute")
    result = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery.id,
            WebhookDelivery.status == delivery.status,
            WebhookDelivery.attempt_count == delivery.attempt_count,
        )
        .values(status="pending", next_attempt_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("the delivery changed meanwhile; look at it again")
    session.refresh(delivery)
    record(
        session,
        delivery.partner_id,
        actor,
        "webhook_delivery.retried",
        "webhook_delivery",
        delivery.id,
        {"endpoint_id": delivery.endpoint_id},
    )
    schedule(session, "deliver_webhook", delivery.id)
    return delivery


def _resume(session: Session, endpoint_id: str) -> None:
    """Queue the oldest pending delivery of a re-enabled endpoint; the rest follow in order."""
    from widget_server.webhooks.delivery import next_in_line

    first = next_in_line(session, endpoint_id)
    if first is not None:
        schedule(session, "deliver_webhook", first)
