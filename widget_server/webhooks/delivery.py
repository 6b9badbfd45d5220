"""Delivering webhook messages: claim, send, record, in order, at least once.

One attempt is three steps, so that no database transaction is open during the HTTP call:

1. `claim` (its own transaction): a conditional UPDATE takes a pending delivery that is due,
   whose endpoint is enabled and which has no older pending delivery to the same endpoint
   (messages reach an endpoint in the order they were created). It counts the attempt and moves
   `next_attempt_at` a lease ahead, so a second worker (or the sweep) does not send it too.
2. `send`: re-checks the URL against the SSRF rules (DNS may have changed), POSTs the exact
   bytes that were signed, and verifies the address actually connected to.
3. `finish` (its own transaction): logs the attempt and decides: 2xx succeeded, 410 disables
   the endpoint, anything else waits for the next slot of `RETRY_SCHEDULE` or, after the last,
   fails. A finished delivery queues the next one in line for its endpoint.

A worker that dies between 1 and 3 leaves the delivery pending with its lease; once the lease
is over the sweep finds it due again (the lost attempt still counts).
"""

from __future__ import annotations

import json
import random
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from widget_server.domain.audit import record
from widget_server.domain.work import schedule
from widget_server.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from widget_server.models.types import utcnow
from widget_server.webhooks.endpoints import (
    UnsafeUrl,
    address_refusal,
    check_url,
    parse_address,
    signing_secrets,
)
from widget_server.webhooks.secrets import SecretUnreadable
from widget_server.webhooks.signing import webhook_headers

# Wait before attempt n + 1 (the first goes at once); jitter adds up to JITTER of each wait.
RETRY_SCHEDULE = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE)
JITTER = 0.10
TIMEOUT_SECONDS = 10
# How long a claimed attempt is protected from being claimed again; well above the timeout.
LEASE = timedelta(minutes=2)
USER_AGENT = "RidePledge-Webhooks/1"
EXCERPT_CHARS = 1000
_EXCERPT_BYTES = 4 * EXCERPT_CHARS
ERROR_CHARS = 500
GONE_REASON = "the endpoint answered 410 Gone"
DUE_BATCH = 500


class RefusedAddress(OSError):
    """The connection reached an address webhooks must not go to."""


@dataclass(frozen=True)
class Claim:
    """Everything one attempt needs, read while claiming, so sending touches no database."""

    delivery_id: str
    endpoint_id: str
    partner_id: str
    message_id: str
    attempt: int
    url: str
    body: bytes
    secrets: tuple[str, ...]
    problem: str | None = None  # a reason not to send at all (the secret is unreadable)


@dataclass(frozen=True)
class Outcome:
    """What one attempt got back."""

    attempted_at: datetime
    latency_ms: int
    status_code: int | None = None
    response_excerpt: str | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class Finished:
    """The delivery after an attempt: `pending` (with its next attempt), `succeeded`, `failed`."""

    status: str
    next_attempt_at: datetime | None


def next_delay(attempts_made: int, rng: random.Random | None = None) -> timedelta | None:
    """How long to wait after `attempts_made` failed attempts, jitter included; None when the
    schedule is used up (the delivery fails)."""
    if attempts_made >= MAX_ATTEMPTS:
        return None
    base = RETRY_SCHEDULE[max(attempts_made, 0)]
    return base * (1 + (rng or random).uniform(0, JITTER))


def encode_body(payload: dict) -> bytes:
    """The request body: compact JSON in the stored key order, UTF-8. Signed and sent as is."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


# --- who goes next -----------------------------------------------------------------------------


def _older_pending():
    """SQL: another pending delivery to the same endpoint was created before this one."""
    older = aliased(WebhookDelivery)
    return (
        exists()
        .where(
            older.endpoint_id == WebhookDelivery.endpoint_id,
            older.status == "pending",
            older.id != WebhookDelivery.id,
            or_(
                older.created_at < WebhookDelivery.created_at,
                and_(
                    older.created_at == WebhookDelivery.created_at,
                    older.id < WebhookDelivery.id,
                ),
            ),
        )
        .correlate(WebhookDelivery)
    )


def _endpoint_enabled():
    return (
        exists()
        .where(
            WebhookEndpoint.id == WebhookDelivery.endpoint_id,
            WebhookEndpoint.status == "enabled",
        )
        .correlate(WebhookDelivery)
    )


def _due(now: datetime):
    return or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now)


def due_deliveries(session: Session, now: datetime, limit: int = DUE_BATCH) -> list[str]:
    """Ids of deliveries the sweep should attempt: pending, due, endpoint enabled, and first in
    line for their endpoint."""
    query = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == "pending",
            _due(now),
            _endpoint_enabled(),
            ~_older_pending(),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def next_in_line(session: Session, endpoint_id: str) -> str | None:
    """The oldest pending delivery of an enabled endpoint (the only one that may be sent)."""
    return session.scalar(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status == "pending",
            _endpoint_enabled(),
        )
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
        .limit(1)
    )


# --- 1. claim ----------------------------------------------------------------------------------


def claim(
    session: Session, delivery_id: str, *, app_secret_key: str, now: datetime
) -> Claim | None:
    """Take the delivery for one attempt if it may go now; None if it is not due, already
    finished, being sent by someone else, waiting behind an older delivery, or its endpoint is
    disabled or gone."""
    row = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == "pending",
            _due(now),
            _endpoint_enabled(),
            ~_older_pending(),
        )
        .values(
            attempt_count=WebhookDelivery.attempt_count + 1,
            next_attempt_at=now + LEASE,
            updated_at=now,
        )
        .returning(
            WebhookDelivery.attempt_count,
            WebhookDelivery.endpoint_id,
            WebhookDelivery.message_id,
            WebhookDelivery.partner_id,
        )
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        return None
    endpoint = session.get(WebhookEndpoint, row.endpoint_id, populate_existing=True)
    message = session.get(WebhookMessage, row.message_id)
    problem = None
    try:
        secrets = tuple(signing_secrets(endpoint, app_secret_key, now))
    except SecretUnreadable:
        secrets = ()
        problem = "the signing secret cannot be decrypted (SECRET_KEY changed?); rotate it"
    return Claim(
        delivery_id=delivery_id,
        endpoint_id=row.endpoint_id,
        partner_id=row.partner_id,
        message_id=message.id,
        attempt=row.attempt_count,
        url=endpoint.url,
        body=encode_body(message.payload),
        secrets=secrets,
        problem=problem,
    )


# --- 2. send -----------------------------------------------------------------------------------


def send(claim: Claim, *, allow_loopback: bool) -> Outcome:
    """POST the message once; never raises for what the network or the receiver does."""
    attempted_at = utcnow()
    started = time.monotonic()

    def outcome(**fields) -> Outcome:
        latency_ms = int((time.monotonic() - started) * 1000)
        return Outcome(attempted_at=attempted_at, latency_ms=latency_ms, **fields)

    if claim.problem:
        return outcome(error=claim.problem)
    try:
        check_url(claim.url, allow_loopback=allow_loopback)
    except UnsafeUrl as exc:
        return outcome(error=_clip(f"not sent: the URL {exc}"))
    headers = {
        **webhook_headers(claim.secrets, claim.message_id, int(time.time()), claim.body),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    with _http_session(allow_loopback) as http:
        try:
            with http.post(
                claim.url,
                data=claim.body,
                headers=headers,
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
                stream=True,
            ) as response:
                excerpt = _excerpt(response, started)
                return outcome(status_code=response.status_code, response_excerpt=excerpt)
        except requests.Timeout:
            return outcome(error=f"timed out after {TIMEOUT_SECONDS} s")
        except requests.RequestException as exc:
            refused = _refused_address(exc)
            if refused is not None:
                return outcome(error=_clip(f"not sent: {refused}"))
            return outcome(error=_clip(f"connection failed: {_describe(exc)}"))


def _excerpt(response: requests.Response, started: float) -> str | None:
    """The first characters of the answer, read within the time limit and no further."""
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(chunk_size=1024):
            chunks.append(chunk)
            size += len(chunk)
            if size >= _EXCERPT_BYTES or time.monotonic() - started > TIMEOUT_SECONDS:
                break
    except requests.RequestException:
        pass  # the status code is what counts; a body cut short is still an excerpt
    raw = b"".join(chunks)[:_EXCERPT_BYTES]
    try:
        text = raw.decode(response.encoding or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        text = raw.decode("utf-8", "replace")
    # PostgreSQL text cannot hold NUL; a binary answer is still worth a look.
    return text[:EXCERPT_CHARS].replace("\x00", "\ufffd") or None


def _clip(text: str) -> str:
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


def _describe(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error (e.g. "Connection refused")."""
    seen = exc
    for _ in range(10):
        inner = getattr(seen, "reason", None) or seen.__cause__ or seen.__context__
        if inner is None and seen.args and isinstance(seen.args[0], BaseException):
            inner = seen.args[0]
        if inner is None or not isinstance(inner, BaseException) or inner is seen:
            break
        seen = inner
    text = str(seen) or type(seen).__name__
    return text.split("] ", 1)[-1] if text.startswith("[Errno") else text


def _refused_address(exc: BaseException) -> RefusedAddress | None:
    seen: set[int] = set()
    stack: list = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, RefusedAddress):
            return current
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        stack.extend(current.args)
    return None


# The URL was checked just before the request, but DNS can answer differently a moment later
# (DNS rebinding). So the connection itself checks the address it reached before sending a
# byte. Proxies from the environment are ignored: they would hide the real destination.


def _check_peer(sock: socket.socket, *, allow_loopback: bool, plain_http: bool) -> None:
    address = parse_address(sock.getpeername()[0])
    if plain_http and not (allow_loopback and address.is_loopback):
        reason = "a non-loopback address over http"
    else:
        reason = address_refusal(address, allow_loopback=allow_loopback)
    if reason:
        sock.close()
        raise RefusedAddress(f"the host connected to {reason} ({address})")


@lru_cache(maxsize=2)
def _guarded_pools(allow_loopback: bool) -> dict[str, type]:
    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _check_peer(sock, allow_loopback=allow_loopback, plain_http=True)
            return sock

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _check_peer(sock, allow_loopback=allow_loopback, plain_http=False)
            return sock

    class GuardedHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, allow_loopback: bool):
        self._allow_loopback = allow_loopback
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _guarded_pools(self._allow_loopback)


def _http_session(allow_loopback: bool) -> requests.Session:
    http = requests.Session()
    http.trust_env = False  # no proxies or .netrc from the environment
    adapter = _GuardedAdapter(allow_loopback)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


# --- 3. finish ---------------------------------------------------------------------------------


def finish(
    session: Session,
    claim: Claim,
    outcome: Outcome,
    *,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> Finished | None:
    """Log the attempt and move the delivery on. Returns where it stands, or None if the claim
    was lost meanwhile (another worker took over after the lease, or the endpoint was deleted);
    the attempt is logged either way while the delivery exists."""
    now = now or utcnow()
    gone = outcome.status_code == 410
    if outcome.succeeded:
        status, next_attempt_at = "succeeded", None
    elif gone:
        status, next_attempt_at = "failed", None
    else:
        delay = next_delay(claim.attempt, rng)
        status, next_attempt_at = ("failed", None) if delay is None else ("pending", now + delay)
    result = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == claim.delivery_id,
            WebhookDelivery.status == "pending",
            WebhookDelivery.attempt_count == claim.attempt,
        )
        .values(
            status=status,
            next_attempt_at=next_attempt_at,
            last_status_code=outcome.status_code,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    owner = result.rowcount == 1
    exists_now = owner or session.scalar(
        select(WebhookDelivery.id).where(WebhookDelivery.id == claim.delivery_id)
    )
    if exists_now:
        session.add(
            WebhookAttempt(
                delivery_id=claim.delivery_id,
                attempted_at=outcome.attempted_at,
                status_code=outcome.status_code,
                latency_ms=outcome.latency_ms,
                response_excerpt=outcome.response_excerpt,
                error=outcome.error,
            )
        )
    if not owner:
        session.flush()
        return None
    if gone:
        _disable_gone_endpoint(session, claim, now)
    elif status != "pending":
        following = next_in_line(session, claim.endpoint_id)
        if following is not None:
            schedule(session, "deliver_webhook", following)
    session.flush()
    return Finished(status, next_attempt_at)


def _disable_gone_endpoint(session: Session, claim: Claim, now: datetime) -> None:
    """A 410 means the receiver is gone for good: stop sending to it until it is re-enabled
    (its pending deliveries wait and resume, in order, when it is)."""
    result = session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == claim.endpoint_id, WebhookEndpoint.status == "enabled")
        .values(status="disabled", disabled_reason=GONE_REASON, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        record(
            session,
            claim.partner_id,
            "system",
            "webhook_endpoint.disabled",
            "webhook_endpoint",
            claim.endpoint_id,
            {"reason": GONE_REASON, "delivery_id": claim.delivery_id},
        )
