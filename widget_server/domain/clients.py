"""API clients of a partner or an operator (bus company), and the access tokens issued to them.
Each side's clients get only that side's scopes (domain/scopes.py).

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
from widget_server.domain.scopes import scope_list, scopes_of, unknown_scopes
from widget_server.models import AccessToken, ApiClient, Operator, Partner
from widget_server.models.types import utcnow

SECRET_PREFIX = "sk_"  # noqa: S105  # a prefix, not a secret  # nosec B105
TOKEN_PREFIX = "at_"  # noqa: S105  # a prefix  # nosec B105
DEFAULT_CLIENT_NAME = "API client"
MAX_NAME_LENGTH = 200
MAX_ROLL_OVERLAP = timedelta(hours=24)


def _tenant_ids(tenant: Partner | Operator) -> dict[str, str]:
    """The columns naming who a client or token belongs to."""
    if isinstance(tenant, Operator):
        return {"operator_id": tenant.id}
    return {"partner_id": tenant.id}


def _audit(session: Session, owner, actor: str, action: str, kind: str, object_id: str, data):
    """An audit entry in the log of the partner or operator `owner` (a client or a token)
    belongs to."""
    record(
        session,
        owner.partner_id,
        actor,
        action,
        kind,
        object_id,
        data,
        operator_id=owner.operator_id,
    )


def create_client(
    session: Session, tenant: Partner | Operator, scope: str, name: str | None, actor: str
) -> tuple[ApiClient, str]:
    """A new API client of `tenant` (a partner, or an operator) allowed `scope` (space
    separated, that side's scopes only); returns it and its secret, which is not stored and
    cannot be shown again."""
    known = scopes_of(isinstance(tenant, Operator))
    valid = " ".join(known)
    scopes = scope_list(scope, known)
    unknown = unknown_scopes(scope, known)
    if unknown:
        raise ValidationFailed.field(
            "scope", f"unknown scope(s) {' '.join(unknown)}; valid scopes: {valid}"
        )
    if not scopes:
        raise ValidationFailed.field("scope", f"name at least one of: {valid}")
    name = (name or "").strip() or DEFAULT_CLIENT_NAME
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed.field("name", f"is longer than {MAX_NAME_LENGTH} characters")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(
        **_tenant_ids(tenant),
        name=name,
        scope=" ".join(scopes),
        secret_hash=generate_password_hash(secret),
        created_at=utcnow(),
    )
    session.add(client)
    session.flush()
    _audit(
        session,
        client,
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
    _audit(
        session,
        client,
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
    _audit(
        session,
        client,
        actor,
        "api_client.secret_rolled",
        "api_client",
        client.id,
        {"previous_secret_valid_for_seconds": int(overlap.total_seconds())},
    )
    return secret


def list_clients(session: Session, tenant: Partner | Operator) -> list[ApiClient]:
    """The partner's (or operator's) clients, oldest first, revoked ones included."""
    column = ApiClient.operator_id if isinstance(tenant, Operator) else ApiClient.partner_id
    query = select(ApiClient).where(column == tenant.id)
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
        operator_id=client.operator_id,
        scope=scope,
        issued_at=now,
        expires_at=now + timedelta(seconds=expires_in),
    )
    session.add(row)
    session.flush()
    return row


class TokenLookup(NamedTuple):
    """An access token with the client it was issued to and the partner, or the operator, it
    acts for (the other is None)."""

    token: AccessToken
    client: ApiClient
    partner: Partner | None
    operator: Operator | None

    @property
    def tenant(self) -> Partner | Operator:
        return self.operator if self.operator is not None else self.partner

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
        select(AccessToken, ApiClient, Partner, Operator)
        .join(ApiClient, ApiClient.id == AccessToken.client_id)
        .outerjoin(Partner, Partner.id == AccessToken.partner_id)
        .outerjoin(Operator, Operator.id == AccessToken.operator_id)
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
    _audit(
        session,
        token,
        actor,
        "access_token.revoked",
        "access_token",
        str(token.id),
        {"client_id": token.client_id},
    )
