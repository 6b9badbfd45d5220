"""`Idempotency-Key` on every POST of the partner API, Stripe style.

The first response to a key is stored (encrypted) for 24 h and replayed (same status, body,
Location) for the same key with the same request; the same key with a different request is
422. Responses that say "try again" (401, 403, 409, 429, 5xx) are not stored, so the retry
really runs.

Keys belong to the API client, and a replay is only ever answered after the request has been
authenticated and its scope checked (`replayable` sits inside `require_scope`): a revoked or
expired token, a token without the operation's scope or another client of the same partner
never sees a stored response (which may hold a shown-once webhook secret).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import wraps

from flask import Flask, Response, current_app, g, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from widget_server.extensions import db
from widget_server.models import IdempotencyRecord
from widget_server.models.types import utcnow
from widget_server.payments import LONGEST_CALL
from widget_server.problems import problem
from widget_server.webhooks.secrets import SecretUnreadable, decrypt_secret, encrypt_secret

KEEP_FOR = timedelta(hours=24)  # as long as Stripe keeps its idempotency keys
# A request still in progress is taken for abandoned (a crashed worker) only after the longest
# provider call it may make (the Stripe client's retries included) has surely ended: a client
# retrying sooner gets 409 "in progress" rather than running the request a second time.
ABANDONED_AFTER = 2 * LONGEST_CALL
# Stored responses have their own key (keys.py), not the webhook secrets' one.
RESPONSES = "idempotent-responses"
NOT_STORED = {401, 403, 409, 429}


def init_app(app: Flask) -> None:
    app.after_request(_after)
    app.teardown_request(_teardown)


def replayable(view):
    """Decorator for an authenticated view (put it inside `require_scope`): a POST with an
    `Idempotency-Key` claims the key for `g.client_id` or is answered with the stored response.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        answer = _claim_or_answer()
        if answer is not None:
            return answer
        return view(*args, **kwargs)

    return wrapper


def _key_problem(key: str) -> str | None:
    """Why a key cannot be used: keys are up to 255 visible ASCII characters (a UUID is
    typical); a NUL or a control character would never be stored faithfully."""
    if len(key) > 255:
        return "must be at most 255 characters"
    if not all(" " <= char <= "~" for char in key):
        return "must be visible ASCII characters"
    return None


def _fingerprint() -> str:
    return hashlib.sha256(
        b"\n".join([request.method.encode(), request.path.encode(), request.get_data()])
    ).hexdigest()


def _claim_or_answer() -> Response | None:
    key = request.headers.get("Idempotency-Key")
    if not key or request.method != "POST":
        return None
    refusal = _key_problem(key)
    if refusal:
        return problem(
            422,
            "Validation failed",
            f"Idempotency-Key {refusal}",
            type_="validation-error",
            errors={"Idempotency-Key": [refusal]},
        )
    client_id = g.client_id  # set by require_scope, which has checked token and scope
    fingerprint = _fingerprint()
    session = Session(bind=db.engine)
    try:
        return _claim_or_replay(session, client_id, key, fingerprint)
    finally:
        session.close()


def _claim_or_replay(session: Session, client_id: str, key: str, fingerprint: str):
    now = utcnow()
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - KEEP_FOR))
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.client_id == client_id, IdempotencyRecord.key == key
        )
    )
    if record is not None and record.request_hash != fingerprint:
        session.commit()
        return problem(
            422,
            "Idempotency key reused",
            "this Idempotency-Key was used with a different request; use a new key",
            type_="idempotency-key-reused",
        )
    if record is not None and record.response_status is not None:
        session.commit()
        headers = dict(record.response_headers or {}) | {"Idempotent-Replayed": "true"}
        body = _decrypt_response(record.response_body)
        return Response(body, record.response_status, headers=headers)
    if record is not None and record.created_at > now - ABANDONED_AFTER:
        session.commit()
        return problem(
            409,
            "Request in progress",
            "a request with this Idempotency-Key is still being processed; retry soon",
            type_="idempotency-in-progress",
        )
    if record is not None:
        session.delete(record)  # abandoned by a crashed request: run it again
        session.flush()
    session.add(
        IdempotencyRecord(
            client_id=client_id,
            key=key,
            method=request.method,
            path=request.path,
            request_hash=fingerprint,
            created_at=now,
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return problem(
            409,
            "Request in progress",
            "a request with this Idempotency-Key is being processed; retry soon",
            type_="idempotency-in-progress",
        )
    g.idempotency = (client_id, key)
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
    claimed = g.pop("idempotency", None)
    if claimed is None:
        return response
    client_id, key = claimed
    session = Session(bind=db.engine)
    try:
        record = session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.client_id == client_id, IdempotencyRecord.key == key
            )
        )
        if record is None:
            return response
        if response.status_code >= 500 or response.status_code in NOT_STORED:
            session.delete(record)
        else:
            record.response_status = response.status_code
            # Encrypted: a stored response may hold a secret shown once (a webhook secret).
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
