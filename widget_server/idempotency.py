"""`Idempotency-Key`, Stripe style: a repeated POST answers the first answer again and does
nothing twice. One mechanism for every face that takes a key:

- the partner API (`/v1`, every POST): keys belong to the API client (`api/idempotency.py`);
- the widget's pledge (the JSON API and the no-JS form): keys belong to the partner's widget
  (owner `widget:<partner id>`), since widget requests are anonymous.

The first response to a key is stored (encrypted) for 24 h and replayed (same status, body,
Location, plus `Idempotent-Replayed: true`) for the same key with the same request (method,
path and body: its fingerprint); the same key with another request is a 422 naming the key.
A repeat that arrives while the first is still running waits for it (up to
`IDEMPOTENCY_WAIT_SECONDS`) and then replays its answer; if the first is still running after
that, the repeat is a 409 `idempotency-in-progress`. Responses that say "try again" (401, 403,
409, 429, 5xx) are not stored and release the key, so the retry (or a waiting repeat) really
runs.

Expired records are deleted by housekeeping (`domain/housekeeping.py`), never by a request.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, Response, current_app, g, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from widget_server.domain.errors import Conflict, ValidationFailed
from widget_server.extensions import db
from widget_server.models import IdempotencyRecord
from widget_server.models.types import utcnow
from widget_server.payments import LONGEST_CALL
from widget_server.webhooks.secrets import SecretUnreadable, decrypt_secret, encrypt_secret

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)  # as long as Stripe keeps its idempotency keys
# A request still in progress is taken for abandoned (a crashed worker) only after the longest
# provider call it may make (the Stripe client's retries included) has surely ended: a client
# retrying sooner waits or gets 409 "in progress" rather than running the request a second time.
ABANDONED_AFTER = 2 * LONGEST_CALL
# How long a repeat waits for the first request with its key to finish (saving a card takes a
# few seconds); `IDEMPOTENCY_WAIT_SECONDS` in the app's config overrides it.
WAIT_FOR_FIRST = 10.0
_POLL_FIRST, _POLL_MAX = 0.02, 0.25  # seconds between looks at the first request's record
# Stored responses have their own key (keys.py), not the webhook secrets' one.
RESPONSES = "idempotent-responses"
NOT_STORED = {401, 403, 409, 429}
_RUNNING = object()  # what a look finds while the first request with the key is still running


class KeyReused(ValidationFailed):
    """The key was used with another request (another body, path or method)."""

    title = "Idempotency key reused"
    type = "idempotency-key-reused"


class StillInProgress(Conflict):
    """The first request with this key is still running after the repeat's wait."""

    title = "Request in progress"
    type = "idempotency-in-progress"


@dataclass(frozen=True)
class Claim:
    """The request that holds a key: its response is stored when it ends."""

    owner: str
    key: str
    fingerprint: str
    # Whether a refusal (a 4xx other than those in NOT_STORED) is stored and replayed too, as
    # the APIs do; an HTML form stores only its success (an error page is rendered afresh).
    stores_refusals: bool = True

    @property
    def attempt(self) -> str:
        """A digest naming this request for good (owner, key and request): what the calls it
        makes to a provider are keyed by, so a re-run of it (after a 5xx, or once abandoned)
        sends the provider the same key and gets the provider's first answer."""
        return hashlib.sha256(
            "\n".join([self.owner, self.key, self.fingerprint]).encode()
        ).hexdigest()


def init_app(app: Flask) -> None:
    """Store the response of every request that claimed a key (whichever face it is on)."""
    app.after_request(_after)
    app.teardown_request(_teardown)


def key_from(value: str | None, field: str = HEADER) -> str | None:
    """A client's key (None when it sent none), or a 422 naming `field`: keys are up to 255
    visible ASCII characters (a UUID is typical); a NUL or a control character would never be
    stored faithfully."""
    if not value:
        return None
    refusal = None
    if len(value) > 255:
        refusal = "must be at most 255 characters"
    elif not all(" " <= char <= "~" for char in value):
        refusal = "must be visible ASCII characters"
    if refusal:
        raise ValidationFailed(f"{field} {refusal}", errors={field: [refusal]})
    return value


def fingerprint() -> str:
    """The current request's identity: method, path and body."""
    return hashlib.sha256(
        b"\n".join([request.method.encode(), request.path.encode(), request.get_data()])
    ).hexdigest()


def claim_or_replay(
    owner: str,
    key: str,
    *,
    field: str = HEADER,
    request_fingerprint: str | None = None,
    stores_refusals: bool = True,
) -> Response | None:
    """Claim `key` for the current request of `owner` (returns None: run the request; its
    response is stored when it ends), or return the stored first response to replay. A repeat
    of a request still running waits for it, then replays its answer (or runs, if the first
    one's answer was not stored). Raises KeyReused (422 naming `field`) when the key went with
    another request, StillInProgress (409) when the first is still running after the wait.
    `request_fingerprint` replaces `fingerprint()` (a form leaves out its anti-forgery token)."""
    claim = Claim(owner, key, request_fingerprint or fingerprint(), stores_refusals)
    wait = float(current_app.config.get("IDEMPOTENCY_WAIT_SECONDS", WAIT_FOR_FIRST))
    deadline = time.monotonic() + wait
    pause = _POLL_FIRST
    while True:
        session = Session(bind=db.engine)
        try:
            outcome = _claim_or_replay(session, claim, field)
        finally:
            session.close()
        if outcome is not _RUNNING:
            return outcome
        if time.monotonic() >= deadline:
            raise StillInProgress(
                f"a request with this {field} is still being processed; retry soon"
            )
        # Wait holding no connection (nor a snapshot) of the request's own session: what it
        # loaded stays attached and reloads when read.
        db.session.rollback()
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, _POLL_MAX)


def current_claim() -> Claim | None:
    """The key the current request holds, if any."""
    return g.get("idempotency")


def _claim_or_replay(session: Session, claim: Claim, field: str):
    now = utcnow()
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.client_id == claim.owner,
            IdempotencyRecord.key == claim.key,
            IdempotencyRecord.created_at >= now - KEEP_FOR,
        )
    )
    if record is not None and record.request_hash != claim.fingerprint:
        raise KeyReused(
            f"this {field} was used with a different request; use a new key",
            errors={field: ["was used with a different request; use a new key"]},
        )
    if record is not None and record.response_status is not None:
        headers = dict(record.response_headers or {}) | {"Idempotent-Replayed": "true"}
        body = _decrypt_response(record.response_body)
        return Response(body, record.response_status, headers=headers)
    if record is not None and record.created_at > now - ABANDONED_AFTER:
        return _RUNNING
    # No record, one past its 24 hours (housekeeping deletes it later), or one abandoned by a
    # crashed request: this request runs.
    stale = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.client_id == claim.owner, IdempotencyRecord.key == claim.key
        )
    )
    if stale is not None:
        session.delete(stale)
        session.flush()
    session.add(
        IdempotencyRecord(
            client_id=claim.owner,
            key=claim.key,
            method=request.method,
            path=request.path,
            request_hash=claim.fingerprint,
            created_at=now,
        )
    )
    try:
        session.commit()
    except IntegrityError:  # a concurrent repeat claimed it first
        session.rollback()
        return _RUNNING
    g.idempotency = claim
    return None


def _decrypt_response(token: str) -> str:
    """A stored response body. Bodies stored before responses had their own key were
    encrypted under the webhook secrets' key; they stay readable for their 24 hours."""
    secret_key = current_app.config["SECRET_KEY"]
    try:
        return decrypt_secret(secret_key, token, purpose=RESPONSES)
    except SecretUnreadable:
        return decrypt_secret(secret_key, token)


def _after(response: Response) -> Response:
    claim = g.pop("idempotency", None)
    if claim is None:
        return response
    session = Session(bind=db.engine)
    try:
        record = session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.client_id == claim.owner, IdempotencyRecord.key == claim.key
            )
        )
        if record is None:
            return response
        status = response.status_code
        if status >= 500 or status in NOT_STORED or (status >= 400 and not claim.stores_refusals):
            session.delete(record)  # released: a retry (or a waiting repeat) runs again
        else:
            record.response_status = status
            # Encrypted: a stored response may hold a secret shown once (a webhook secret) or a
            # fan's manage link.
            record.response_body = encrypt_secret(
                current_app.config["SECRET_KEY"], response.get_data(as_text=True), purpose=RESPONSES
            )
            record.response_headers = {
                name: value
                for name, value in response.headers.items()
                if name in ("Content-Type", "Location")
            }
        session.commit()
    finally:
        session.close()
    return response


def _teardown(exc):
    if exc is not None and g.get("idempotency"):
        _after(Response(status=500))
