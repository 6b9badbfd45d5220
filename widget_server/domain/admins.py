"""Partner admins: accounts, passwords, sign-in with lockout, server-side sessions, and the signed
links that set or reset a password (the CLI's one-time link, password reset, team invites).

Plain Python over a Session: flushes, never commits. Secrets (the app's SECRET_KEY) are passed
in, so nothing here needs Flask.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.errors import Conflict, DomainError, ValidationFailed
from widget_server.domain.text import clean_text, email_key, normalize_email
from widget_server.domain.work import schedule
from widget_server.models import AdminSession, AdminSignInAttempt, AdminUser, Partner
from widget_server.models.admins import ADMIN_ROLES
from widget_server.models.types import utcnow

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 200
# Lockout: this many failures within LOCK_WINDOW lock the email (known or not) or the address
# until the window has passed over them.
ACCOUNT_LOCK_AFTER = 5
ADDRESS_LOCK_AFTER = 20
LOCK_WINDOW = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(hours=2)
ABSOLUTE_LIFETIME = timedelta(hours=12)
# last_seen_at is written at most this often, so reading pages does not write on every request.
TOUCH_EVERY = timedelta(minutes=1)

# How long each kind of password link works.
LINK_LIFETIMES = {
    "set": timedelta(hours=72),  # printed by `ridepledge admins create` without --password
    "invite": timedelta(hours=72),
    "reset": timedelta(hours=1),
}

_hasher = PasswordHasher()


class SignInRefused(DomainError):
    """The one answer to every refused sign-in: unknown email, wrong password or locked."""

    status = 401
    title = "Sign-in refused"
    type = "sign-in-refused"


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the email is unknown, so both answers take as long."""
    return _hasher.hash(secrets.token_urlsafe(16))


def actor_of(admin: AdminUser) -> str:
    """How an admin appears in the audit log."""
    return f"admin:{admin.email}"


def check_role(role: str) -> str:
    if role not in ADMIN_ROLES:
        raise ValidationFailed.field("role", f"must be one of {', '.join(ADMIN_ROLES)}")
    return role


def check_password(password: str) -> str:
    """A password we accept: 10 to 200 characters (spaces allowed, nothing else imposed,
    following NIST SP 800-63B)."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN_LENGTH:
        raise ValidationFailed.field(
            "password", f"must be at least {PASSWORD_MIN_LENGTH} characters"
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise ValidationFailed.field(
            "password", f"must be at most {PASSWORD_MAX_LENGTH} characters"
        )
    return password


def _normalized_email(email: str) -> tuple[str, str]:
    try:
        address = normalize_email(email)
    except ValueError as exc:
        raise ValidationFailed.field("email", str(exc)) from None
    return address, address.casefold()


def find_admin(session: Session, email: str) -> AdminUser | None:
    """The admin with this email (any case), or None."""
    try:
        key = email_key(email)
    except ValueError:
        return None
    return session.scalar(select(AdminUser).where(AdminUser.email_key == key))


def create_admin(
    session: Session,
    partner: Partner,
    *,
    email: str,
    role: str = "owner",
    password: str | None = None,
    actor: str,
) -> AdminUser:
    """A new admin of `partner`. Without a password, the admin sets one from a signed link."""
    address, key = _normalized_email(email)
    check_role(role)
    if session.scalar(select(AdminUser.id).where(AdminUser.email_key == key)):
        raise Conflict(f"{address} already has a console account")
    admin = AdminUser(
        partner_id=partner.id, email=address, email_key=key, role=role, session_generation=0
    )
    if password is not None:
        admin.password_hash = _hasher.hash(check_password(password))
        admin.password_changed_at = utcnow()
    session.add(admin)
    session.flush()
    record(
        session,
        partner.id,
        actor,
        "admin.created",
        "admin",
        admin.id,
        {"email": address, "role": role},
    )
    return admin


def set_password(session: Session, admin: AdminUser, password: str, *, actor: str) -> None:
    """A new password; every session of the admin ends (and every outstanding link stops
    working, since links are bound to the old hash)."""
    admin.password_hash = _hasher.hash(check_password(password))
    admin.password_changed_at = utcnow()
    admin.session_generation += 1
    # Proof of owning the mailbox (or the console): the email's lockout starts over.
    session.add(
        AdminSignInAttempt(email_key=admin.email_key, address="(password set)", succeeded=True)
    )
    session.flush()
    record(session, admin.partner_id, actor, "admin.password_set", "admin", admin.id)


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
    session: Session, email: str, password: str, *, address: str, now: datetime | None = None
) -> AdminUser:
    """The admin whose email and password these are, or SignInRefused: the same refusal for an
    unknown email, a wrong password, an account without a password yet, and a lockout (the
    lock is per email whether or not it belongs to anyone, so it reveals nothing either).
    For an admin with two-step sign-in, a right password is only the first step
    (domain/two_step.py)."""
    now = now or utcnow()
    try:
        key = clean_text(email or "", max_length=320).casefold()
    except ValueError:
        key = "(unreadable)"
    admin = find_admin(session, email or "")
    if admin is not None:
        key = admin.email_key
    locked = is_locked(session, key, address, now)
    stored = admin.password_hash if admin is not None and admin.password_hash else None
    try:
        matches = _hasher.verify(stored or _dummy_hash(), password or "") and stored is not None
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
    if _hasher.check_needs_rehash(admin.password_hash):
        admin.password_hash = _hasher.hash(password)
    admin.last_sign_in_at = now
    session.flush()
    return admin


def password_matches(admin: AdminUser, password: str) -> bool:
    """Whether `password` is still the admin's password (no sign-in recorded, no lockout
    counted: the demo uses it to know whether the password it made is still valid)."""
    if not admin.password_hash:
        return False
    try:
        return _hasher.verify(admin.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- sessions -----------------------------------------------------------------------------


def _token_hash(token: str) -> str:
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
            token_hash=_token_hash(token),
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
    row = session.scalar(select(AdminSession).where(AdminSession.token_hash == _token_hash(token)))
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
        .where(AdminSession.token_hash == _token_hash(token), AdminSession.ended_at.is_(None))
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
    record(session, admin.partner_id, actor, "admin.signed_out_everywhere", "admin", admin.id)


def end_other_sessions(session: Session, admin: AdminUser, keep_token: str) -> None:
    """Every session of `admin` but the one of `keep_token` stops working (after a change of
    how the admin signs in): "sign out everywhere", this browser excepted."""
    admin.session_generation += 1
    kept = _token_hash(keep_token)
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


# --- signed password links ----------------------------------------------------------------


def _serializer(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"ridepledge.admin-password.{purpose}")


def fingerprint(admin: AdminUser) -> str:
    """Changes whenever the password or the session generation does, so a link works once
    (using it sets a password) and signing out everywhere voids what was bound to it."""
    material = f"{admin.id}:{admin.password_hash or ''}:{admin.session_generation}"
    return hashlib.sha256(material.encode()).hexdigest()[:20]


def password_token(secret_key: str, admin: AdminUser, purpose: str) -> str:
    """A signed token for a link that sets the password of `admin` (`set`, `invite`, `reset`)."""
    return _serializer(secret_key, purpose).dumps([admin.id, fingerprint(admin)])


def admin_for_token(
    session: Session, secret_key: str, token: str, purpose: str
) -> AdminUser | None:
    """The admin a password link is for, or None if it is forged, expired or already used."""
    try:
        admin_id, bound_to = _serializer(secret_key, purpose).loads(
            token, max_age=int(LINK_LIFETIMES[purpose].total_seconds())
        )
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        return None
    admin = session.get(AdminUser, admin_id) if isinstance(admin_id, str) else None
    if admin is None or not secrets.compare_digest(str(bound_to), fingerprint(admin)):
        return None
    return admin


def ask_password_reset(session: Session, email: str) -> None:
    """ "Forgot my password": schedule the `send_password_reset` job, which looks the account
    up. The request does the same work (no lookup) whether or not the email has an account,
    so neither its answer nor its timing tells."""
    schedule(session, "send_password_reset", email)


def request_password_reset(session: Session, email: str) -> AdminUser | None:
    """The job's half of `ask_password_reset`: queue a reset email if this email has an
    account. Returns the admin, for tests and the audit log."""
    from widget_server.domain.notify import queue_admin_email

    admin = find_admin(session, email)
    if admin is None:
        return None
    queue_admin_email(session, admin, "admin_password_reset")
    record(session, admin.partner_id, "system", "admin.password_reset_requested", "admin", admin.id)
    return admin


# --- the team -----------------------------------------------------------------------------


def team_of(session: Session, partner: Partner) -> list[AdminUser]:
    """The partner's admins, owners first, then by email."""
    order = {role: index for index, role in enumerate(ADMIN_ROLES)}
    admins = session.scalars(select(AdminUser).where(AdminUser.partner_id == partner.id))
    return sorted(admins, key=lambda a: (order.get(a.role, 9), a.email_key))


def ask_invite(
    session: Session, partner: Partner, *, email: str, role: str, invited_by: AdminUser
) -> str:
    """Invite a teammate: the address and role are checked here, the account lookup and the
    invitation happen in the `invite_admin` job, so the answer is the same whether or not the
    address already has a console account (with this partner or another). Returns the
    normalised address."""
    address, _key = _normalized_email(email)
    check_role(role)
    schedule(session, "invite_admin", partner.id, address, role, invited_by.id)
    return address


def invite_if_new(
    session: Session, partner: Partner, *, email: str, role: str, invited_by: AdminUser
) -> AdminUser | None:
    """The job's half of `ask_invite`: the invitation, unless the address already has a
    console account (one account per address, across partners): then nothing happens, and
    the inviter only sees that nobody new joined the team list."""
    if find_admin(session, email) is not None:
        return None
    return invite_admin(session, partner, email=email, role=role, invited_by=invited_by)


def invite_admin(
    session: Session, partner: Partner, *, email: str, role: str, invited_by: AdminUser
) -> AdminUser:
    """A new teammate without a password, emailed a signed link (72 h, works once) to set one."""
    from widget_server.domain.notify import queue_admin_email

    admin = create_admin(session, partner, email=email, role=role, actor=actor_of(invited_by))
    queue_admin_email(session, admin, "admin_invite", invited_by=invited_by.email)
    return admin


def _owners(session: Session, partner_id: str) -> int:
    return session.scalar(
        select(func.count()).where(AdminUser.partner_id == partner_id, AdminUser.role == "owner")
    )


def change_role(session: Session, admin: AdminUser, role: str, *, actor: str) -> AdminUser:
    """A new role for `admin`; the last owner stays an owner (someone must run the team)."""
    check_role(role)
    if admin.role == role:
        return admin
    if admin.role == "owner" and _owners(session, admin.partner_id) <= 1:
        raise Conflict("this is the last owner; make someone else an owner first")
    previous, admin.role = admin.role, role
    session.flush()
    record(
        session,
        admin.partner_id,
        actor,
        "admin.role_changed",
        "admin",
        admin.id,
        {"email": admin.email, "from": previous, "to": role},
    )
    return admin


def remove_admin(session: Session, admin: AdminUser, *, actor: str) -> None:
    """Remove a teammate (their sessions end with them); never the last owner."""
    if admin.role == "owner" and _owners(session, admin.partner_id) <= 1:
        raise Conflict("this is the last owner; make someone else an owner first")
    record(
        session,
        admin.partner_id,
        actor,
        "admin.removed",
        "admin",
        admin.id,
        {"email": admin.email, "role": admin.role},
    )
    session.delete(admin)
    session.flush()


def set_language(session: Session, admin: AdminUser, locale: str | None, *, actor: str) -> None:
    """The console's language for `admin` (en, es or fr), or None to follow the browser's.
    Console emails to the admin use it too."""
    from widget_server.i18n import SUPPORTED_LOCALES

    if locale is not None and locale not in SUPPORTED_LOCALES:
        raise ValidationFailed.field("locale", f"must be one of {', '.join(SUPPORTED_LOCALES)}")
    admin.locale = locale
    session.flush()
    record(
        session,
        admin.partner_id,
        actor,
        "admin.language_set",
        "admin",
        admin.id,
        {"locale": locale},
    )
