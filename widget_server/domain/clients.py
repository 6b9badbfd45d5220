"""API clients of a partner and the access tokens issued to them.

Secrets and tokens are shown once and stored only as hashes: the client secret as scrypt
(werkzeug's password hash; it is checked once per token, so its cost is paid rarely), the
access token as SHA-256 (it is looked up on every API request, and 256 random bits need no
slow hash to resist guessing).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import cache
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from widget_server.domain.audit import record
from widget_server.domain.errors import Conflict, ValidationFailed
from widget_server.domain.scopes import SCOPES, scope_list, unknown_scopes
from widget_server.models import AccessToken, ApiClient, Partner
from widget_server.models.types import utcnow

SECRET_PREFIX = "sk_"  # noqa: S105  # a prefix, not a secret  # nosec B105
TOKEN_PREFIX = "at_"  # noqa: S105  # a prefix  # nosec B105
DEFAULT_CLIENT_NAME = "API client"
MAX_NAME_LENGTH = 200
MAX_ROLL_OVERLAP = timedelta(hours=24)


def create_client(
    session: Session, partner: Partner, scope: str, name: str | None, actor: str
) -> tuple[ApiClient, str]:
    """A new API client of `partner` allowed `scope` (space separated); returns it and its
    secret, which is not stored and cannot be shown again."""
    scopes = scope_list(scope)
    unknown = unknown_scopes(scope)
    if unknown:
        raise ValidationFailed.field(
            "scope", f"unknown scope(s) {' '.join(unknown)}; valid scopes: {' '.join(SCOPES)}"
        )
    if not scopes:
        raise ValidationFailed.field("scope", f"name at least one of: {' '.join(SCOPES)}")
    name = (name or "").strip() or DEFAULT_CLIENT_NAME
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed.field("name", f"is longer than {MAX_NAME_LENGTH} characters")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(
        partner_id=partner.id,
        name=name,
        scope=" ".join(scopes),
        secret_hash=generate_password_hash(secret),
        created_at=utcnow(),
    )
    session.add(client)
    session.flush()
    record(
        session,
        partner.id,
        actor,
        "api_client.created",
        "api_client",
        client.id,
        {"name": name, "scope": client.scope},
    )
    return client, secret


def revoke_client(session: Session, client: ApiClient, actor: str) -> int:
    """Revoke `client` and every token it holds; returns how many live tokens died.

    Revoking a revoked client changes nothing and writes no audit entry.
    """
    if client.revoked_at is not None:
        return 0
    now = utcnow()
    client.revoked_at = now
    result = session.execute(
        update(AccessToken)
        .where(
            AccessToken.client_id == client.id,
            AccessToken.revoked_at.is_(None),
            AccessToken.expires_at > now,
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    record(
        session,
        client.partner_id,
        actor,
        "api_client.revoked",
        "api_client",
        client.id,
        {"tokens_revoked": result.rowcount},
    )
    return result.rowcount


def roll_secret(
    session: Session, client: ApiClient, overlap: timedelta, actor: str, now=None
) -> str:
    """A new secret for `client`, returned once. The one it replaces keeps getting tokens until
    `overlap` has passed (zero: it stops now), so a partner can deploy the new one first.
    Rolling again during an overlap ends the older overlap: only the latest two secrets work."""
    if client.revoked_at is not None:
        raise Conflict("this client is revoked; create a new one")
    if overlap < timedelta(0) or overlap > MAX_ROLL_OVERLAP:
        raise ValidationFailed.field("overlap", "must be between now and 24 hours")
    now = now or utcnow()
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    if overlap:
        client.previous_secret_hash = client.secret_hash
        client.previous_secret_expires_at = now + overlap
    else:
        client.previous_secret_hash = None
        client.previous_secret_expires_at = None
    client.secret_hash = generate_password_hash(secret)
    session.flush()
    record(
        session,
        client.partner_id,
        actor,
        "api_client.secret_rolled",
        "api_client",
        client.id,
        {"previous_secret_valid_for_seconds": int(overlap.total_seconds())},
    )
    return secret


def list_clients(session: Session, partner: Partner) -> list[ApiClient]:
    """The partner's clients, oldest first, revoked ones included."""
    query = select(ApiClient).where(ApiClient.partner_id == partner.id)
    return list(session.scalars(query.order_by(ApiClient.created_at, ApiClient.id)))


def has_active_client(session: Session, partner: Partner) -> bool:
    """Whether the partner has a client that is not revoked."""
    query = select(ApiClient.id).where(
        ApiClient.partner_id == partner.id, ApiClient.revoked_at.is_(None)
    )
    return session.scalar(query.limit(1)) is not None


def check_secret(client: ApiClient | None, secret: str) -> bool:
    """Whether `secret` is the secret of `client`, a client that is not revoked: its current
    secret, or the one it replaced while the overlap chosen at the roll lasts.

    Hashes even when there is no client, so the time taken does not tell whether an id exists.
    """
    if client is None:
        check_password_hash(_decoy_hash(), secret)
        return False
    matches = check_password_hash(client.secret_hash, secret)
    if not matches and client.previous_secret_hash:
        in_overlap = (
            client.previous_secret_expires_at is not None
            and client.previous_secret_expires_at > utcnow()
        )
        matches = check_password_hash(client.previous_secret_hash, secret) and in_overlap
    return matches and client.revoked_at is None


@cache
def _decoy_hash() -> str:
    return generate_password_hash(SECRET_PREFIX + secrets.token_urlsafe(32))


def touch_client(client: ApiClient) -> None:
    """Note that the client just authenticated (shown as `last_used_at`)."""
    client.last_used_at = utcnow()


# -- access tokens ---------------------------------------------------------------------------


def hash_token(token: str) -> str:
    """The stored form of an access token: SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_access_token() -> str:
    """A fresh opaque bearer token (prefixed, so secret scanners can recognise it)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def store_access_token(
    session: Session, client: ApiClient, token: str, scope: str, expires_in: int
) -> AccessToken:
    """Keep the hash of `token`, just issued to `client` for `scope`, valid `expires_in` s."""
    now = utcnow()
    row = AccessToken(
        token_hash=hash_token(token),
        client_id=client.id,
        partner_id=client.partner_id,
        scope=scope,
        issued_at=now,
        expires_at=now + timedelta(seconds=expires_in),
    )
    session.add(row)
    session.flush()
    return row


class TokenLookup(NamedTuple):
    """An access token with the client it was issued to and the partner it acts for."""

    token: AccessToken
    client: ApiClient
    partner: Partner

    @property
    def revoked(self) -> bool:
        """Revoked itself, or its client was."""
        return self.token.revoked_at is not None or self.client.revoked_at is not None

    @property
    def expired(self) -> bool:
        return self.token.expires_at <= utcnow()

    @property
    def active(self) -> bool:
        return not (self.revoked or self.expired)

    @property
    def scopes(self) -> set[str]:
        return set(self.token.scope.split())


def lookup_access_token(session: Session, token: str) -> TokenLookup | None:
    """The stored token whose hash matches `token` (active or not), or None: one query."""
    if not token:
        return None
    query = (
        select(AccessToken, ApiClient, Partner)
        .join(ApiClient, ApiClient.id == AccessToken.client_id)
        .join(Partner, Partner.id == AccessToken.partner_id)
        .where(AccessToken.token_hash == hash_token(token))
    )
    row = session.execute(query).first()
    return TokenLookup(*row) if row is not None else None


def revoke_access_token(session: Session, token: AccessToken, actor: str) -> None:
    """Revoke one access token (RFC 7009); revoking it again changes nothing."""
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    session.flush()
    record(
        session,
        token.partner_id,
        actor,
        "access_token.revoked",
        "access_token",
        str(token.id),
        {"client_id": token.client_id},
    )
