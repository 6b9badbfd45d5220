"""Admin sign-in with lockout, and the server-side sessions it starts."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from widget_server.domain.accounts import admins
from widget_server.domain.errors import DomainError
from widget_server.domain.text import clean_text
from widget_server.models import AdminSession, AdminSignInAttempt, AdminUser
from widget_server.models.types import utcnow

# Lockout: this many failures within LOCK_WINDOW lock the email (known or not) or the address
# until the window has passed over them.
ACCOUNT_LOCK_AFTER = 5
ADDRESS_LOCK_AFTER = 20
LOCK_WINDOW = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(hours=2)
ABSOLUTE_LIFETIME = timedelta(hours=12)
# last_seen_at is written at most this often, so reading pages does not write on every request.
TOUCH_EVERY = timedelta(minutes=1)


class SignInRefused(DomainError):
    """The one answer to every refused sign-in: unknown email, wrong password or locked."""

    status = 401
    title = "Sign-in refused"
    type = "sign-in-refused"


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the email is unknown, so both answers take as long."""
    return admins.PASSWORD_HASHER.hash(secrets.token_urlsafe(16))


# --- sign-in and lockout ------------------------------------------------------------------


def _failures_since(
    session: Session, column, value: str, since: datetime, *, success_resets: bool
) -> int:
    """Failures on `column == value` since `since`; with `success_resets`, only those after
    its last success."""
    if success_resets:
        last_success = session.scalar(
            select(func.max(AdminSignInAttempt.created_at)).where(
                column == value, AdminSignInAttempt.succeeded.is_(True)
            )
        )
        if last_success is not None and last_success > since:
            since = last_success
    return session.scalar(
        select(func.count()).where(
            column == value,
            AdminSignInAttempt.succeeded.is_(False),
            AdminSignInAttempt.created_at > since,
        )
    )


def is_locked(session: Session, key: str, address: str, now: datetime) -> bool:
    """Whether sign-in is locked for this email key or this client address (an IPv6 client
    by its /64) right now. The account's count starts over when that account signs in; the
    address's never does within the window: a success proves only that the address holds
    one password (an attacker's own account), not that its other tries were not guesses."""
    since = now - LOCK_WINDOW
    account_failures = _failures_since(
        session, AdminSignInAttempt.email_key, key, since, success_resets=True
    )
    address_failures = _failures_since(
        session, AdminSignInAttempt.address, address, since, success_resets=False
    )
    return account_failures >= ACCOUNT_LOCK_AFTER or address_failures >= ADDRESS_LOCK_AFTER


def authenticate(
    session: Session,
    email: str,
    password: str,
    *,
    address: str,
    operator: bool = False,
    now: datetime | None = None,
) -> AdminUser:
    """The admin whose email and password these are, or SignInRefused: the same refusal for an
    unknown email, a wrong password, an account without a password yet, and a lockout (the
    lock is per email whether or not it belongs to anyone, so it reveals nothing either).
    For an admin with two-step sign-in, a right password is only the first step
    (domain/accounts/two_step.py). The console signs in partners' people, the operator
    portal (`operator=True`) operators' people: the other side's account is refused the same
    way, so one face's sign-in page never opens the other."""
    now = now or utcnow()
    try:
        key = clean_text(email or "", max_length=320).casefold()
    except ValueError:
        key = "(unreadable)"
    admin = admins.find_admin(session, email or "")
    if admin is not None:
        key = admin.email_key
        if (admin.operator_id is not None) != operator:
            admin = None
    locked = is_locked(session, key, address, now)
    stored = admin.password_hash if admin is not None and admin.password_hash else None
    try:
        matches = (
            admins.PASSWORD_HASHER.verify(stored or _dummy_hash(), password or "")
            and stored is not None
        )
    except (VerificationError, InvalidHashError):
        matches = False
    succeeded = matches and not locked
    if not succeeded or not admin.two_step_on:
        # With two-step sign-in on, only the code's step records the sign-in: a right password
        # alone must not start the lockout count over.
        session.add(
            AdminSignInAttempt(email_key=key, address=address, succeeded=succeeded, created_at=now)
        )
    session.flush()
    if not succeeded:
        raise SignInRefused("sign-in refused")
    if admins.PASSWORD_HASHER.check_needs_rehash(admin.password_hash):
        admin.password_hash = admins.PASSWORD_HASHER.hash(password)
    admin.last_sign_in_at = now
    session.flush()
    return admin


def password_matches(admin: AdminUser, password: str) -> bool:
    """Whether `password` is still the admin's password (no sign-in recorded, no lockout
    counted: the demo uses it to know whether the password it made is still valid)."""
    if not admin.password_hash:
        return False
    try:
        return admins.PASSWORD_HASHER.verify(admin.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- sessions -----------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    session: Session,
    admin: AdminUser,
    *,
    address: str | None,
    user_agent: str | None,
    now: datetime | None = None,
) -> str:
    """A new signed-in session for `admin`; returns the token for the cookie (a fresh random
    id at every sign-in, so a session id planted before sign-in is worthless)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        AdminSession(
            token_hash=token_hash(token),
            admin_id=admin.id,
            generation=admin.session_generation,
            created_at=now,
            last_seen_at=now,
            address=address,
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    session.flush()
    return token


@dataclass(frozen=True)
class LiveSession:
    admin: AdminUser
    session: AdminSession


def live_session(
    session: Session, token: str, *, now: datetime | None = None
) -> LiveSession | None:
    """The session behind a cookie token if it still works: not ended, used within the idle
    timeout, younger than the absolute lifetime, and not ended by "sign out everywhere"."""
    now = now or utcnow()
    row = session.scalar(select(AdminSession).where(AdminSession.token_hash == token_hash(token)))
    if row is None or row.ended_at is not None:
        return None
    admin = row.admin
    if (
        row.generation != admin.session_generation
        or now - row.last_seen_at > IDLE_TIMEOUT
        or now - row.created_at > ABSOLUTE_LIFETIME
    ):
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        session.flush()
    return LiveSession(admin=admin, session=row)


def end_session(session: Session, token: str, *, now: datetime | None = None) -> None:
    """Sign out this browser."""
    session.execute(
        update(AdminSession)
        .where(AdminSession.token_hash == token_hash(token), AdminSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


def end_all_sessions(session: Session, admin: AdminUser, *, actor: str) -> None:
    """Sign out everywhere: every session of `admin`, on every device, stops working."""
    admin.session_generation += 1
    session.execute(
        update(AdminSession)
        .where(AdminSession.admin_id == admin.id, AdminSession.ended_at.is_(None))
        .values(ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.flush()
    admins.audit(session, admin, actor, "admin.signed_out_everywhere")


def end_other_sessions(session: Session, admin: AdminUser, keep_token: str) -> None:
    """Every session of `admin` but the one of `keep_token` stops working (after a change of
    how the admin signs in): "sign out everywhere", this browser excepted."""
    admin.session_generation += 1
    kept = token_hash(keep_token)
    session.execute(
        update(AdminSession)
        .where(
            AdminSession.admin_id == admin.id,
            AdminSession.ended_at.is_(None),
            AdminSession.token_hash != kept,
        )
        .values(ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(AdminSession)
        .where(AdminSession.token_hash == kept)
        .values(generation=admin.session_generation)
        .execution_options(synchronize_session=False)
    )
    session.flush()
