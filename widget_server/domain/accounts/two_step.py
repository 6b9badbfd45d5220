"""Two-step sign-in for console admins: a TOTP authenticator app (RFC 6238, pyotp) and ten
single-use recovery codes, optional per admin and required for a whole team if an owner says so.

- The TOTP secret is stored Fernet-encrypted under its own key (keys.py, "admin-totp-secrets");
  while it is being set up it waits in `totp_pending_secret` until a code from the app proves
  the admin copied it.
- A code is accepted for the time step before, at and after now (phones' clocks drift), and
  only for a step later than the last one accepted (`totp_last_step`, moved by one conditional
  UPDATE), so a code seen over a shoulder or sent twice does not work again.
- Recovery codes are random (60 bits), stored as an HMAC (keys.py, "admin-recovery-codes"),
  shown once, and each works once.
- Between the password and the code nobody is signed in: the console keeps a signed,
  five-minute token naming the admin (`pending_token`), bound to the password hash and session
  generation, so a password change or "sign out everywhere" voids it.
- Wrong codes count as failed sign-ins (models AdminSignInAttempt), so the password lockout
  covers them too.

Plain Python over a Session: flushes, never commits; the app's SECRET_KEY is passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

import pyotp
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from widget_server.domain.accounts import admin_sessions, admins, password_links
from widget_server.domain.accounts.admins import audit
from widget_server.domain.audit import record
from widget_server.domain.errors import Conflict, ValidationFailed
from widget_server.keys import derive_key
from widget_server.models import AdminRecoveryCode, AdminSignInAttempt, AdminUser, Partner
from widget_server.models.types import utcnow
from widget_server.webhooks.secrets import SecretUnreadable, decrypt_secret, encrypt_secret

ISSUER = "RidePledge"
SECRET_PURPOSE = "admin-totp-secrets"  # noqa: S105  # a key label  # nosec B105
RECOVERY_PURPOSE = "admin-recovery-codes"
RECOVERY_CODE_COUNT = 10
# Base32 without the look-alikes 0/O and 1/I/L: 12 characters are 60 bits.
RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECOVERY_CODE_LENGTH = 12
PENDING_LIFETIME = timedelta(minutes=5)
# Steps either side of now that are accepted (30 s each).
VALID_WINDOW = 1


# --- codes --------------------------------------------------------------------------------


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code `code` is (within VALID_WINDOW of now), or None."""
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = _totp(secret)
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        moment = now + timedelta(seconds=offset * totp.interval)
        if hmac.compare_digest(totp.at(moment), code):
            return totp.timecode(moment)
    return None


def _clean_code(code: str | None) -> str:
    """What the admin typed, without spaces and dashes, upper case (recovery codes are shown
    as XXXX-XXXX-XXXX)."""
    return re.sub(r"[\s-]+", "", code or "")[:64].upper()


def _recovery_hash(secret_key: str, code: str) -> str:
    key = derive_key(secret_key, RECOVERY_PURPOSE)
    return hmac.new(key, _clean_code(code).encode(), hashlib.sha256).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


def _secret_of(secret_key: str, stored: str | None) -> str | None:
    if not stored:
        return None
    try:
        return decrypt_secret(secret_key, stored, purpose=SECRET_PURPOSE)
    except SecretUnreadable:
        return None  # SECRET_KEY changed: the admin must set it up again (docs/admin.md)


def _use_totp(session: Session, admin: AdminUser, secret: str, code: str, now: datetime) -> bool:
    """Accept `code` for `admin` once: its step must be later than the last one accepted. One
    conditional UPDATE, so two requests with the same code cannot both pass."""
    step = _matching_step(secret, code, now)
    if step is None:
        return False
    moved = session.execute(
        update(AdminUser)
        .where(
            AdminUser.id == admin.id,
            or_(AdminUser.totp_last_step.is_(None), AdminUser.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        return False
    admin.totp_last_step = step
    return True


def _use_recovery_code(
    session: Session, admin: AdminUser, code: str, *, secret_key: str, now: datetime
) -> bool:
    if len(code) != RECOVERY_CODE_LENGTH:
        return False
    used = session.execute(
        update(AdminRecoveryCode)
        .where(
            AdminRecoveryCode.admin_id == admin.id,
            AdminRecoveryCode.code_hash == _recovery_hash(secret_key, code),
            AdminRecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return used.rowcount == 1


def use_code(
    session: Session, admin: AdminUser, code: str | None, *, secret_key: str, now=None
) -> str | None:
    """Spend a code of `admin`: "totp" for a fresh authenticator code, "recovery" for an
    unused recovery code (now used), None otherwise (nothing changes then)."""
    now = now or utcnow()
    secret = _secret_of(secret_key, admin.totp_secret) if admin.two_step_on else None
    if secret is None:
        return None
    cleaned = _clean_code(code)
    if _use_totp(session, admin, secret, cleaned, now):
        return "totp"
    if _use_recovery_code(session, admin, cleaned, secret_key=secret_key, now=now):
        audit(
            session,
            admin,
            admins.actor_of(admin),
            "admin.recovery_code_used",
            {"left": recovery_codes_left(session, admin)},
        )
        return "recovery"
    return None


def recovery_codes_left(session: Session, admin: AdminUser) -> int:
    return session.scalar(
        select(func.count()).where(
            AdminRecoveryCode.admin_id == admin.id, AdminRecoveryCode.used_at.is_(None)
        )
    )


def _replace_recovery_codes(session: Session, admin: AdminUser, secret_key: str) -> list[str]:
    session.execute(delete(AdminRecoveryCode).where(AdminRecoveryCode.admin_id == admin.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(
        AdminRecoveryCode(admin_id=admin.id, code_hash=_recovery_hash(secret_key, code))
        for code in codes
    )
    session.flush()
    return codes


# --- setting it up and turning it off -----------------------------------------------------


def begin_set_up(session: Session, admin: AdminUser, *, secret_key: str) -> str:
    """A new secret for the admin's authenticator app, waiting for a code to confirm it."""
    if admin.two_step_on:
        raise Conflict("two-step sign-in is already on")
    secret = pyotp.random_base32()
    admin.totp_pending_secret = encrypt_secret(secret_key, secret, purpose=SECRET_PURPOSE)
    session.flush()
    return secret


def pending_secret(admin: AdminUser, *, secret_key: str) -> str | None:
    """The secret being set up (to show as a QR code and as text), or None."""
    return None if admin.two_step_on else _secret_of(secret_key, admin.totp_pending_secret)


def provisioning_uri(admin: AdminUser, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return _totp(secret).provisioning_uri(
        name=admin.email, issuer_name=f"{ISSUER} {admin.tenant.name}"
    )


def complete_set_up(
    session: Session, admin: AdminUser, code: str | None, *, secret_key: str, actor: str
) -> list[str]:
    """Turn two-step sign-in on once `code` comes from the app set up with the pending secret;
    returns the ten recovery codes, in clear this once."""
    secret = pending_secret(admin, secret_key=secret_key)
    if secret is None:
        raise ValidationFailed.field("code", "start the set-up again")
    step = _matching_step(secret, _clean_code(code), utcnow())
    if step is None:
        raise ValidationFailed.field("code", "this is not the app's current code")
    admin.totp_secret, admin.totp_pending_secret = admin.totp_pending_secret, None
    admin.totp_enabled_at = utcnow()
    admin.totp_last_step = step  # the code that confirmed it does not also sign in
    codes = _replace_recovery_codes(session, admin, secret_key)
    audit(session, admin, actor, "admin.two_step_enabled")
    return codes


def confirm_identity(
    session: Session,
    admin: AdminUser,
    password: str,
    code: str | None,
    *,
    secret_key: str,
    address: str,
) -> str | None:
    """Before turning two-step sign-in off or making new recovery codes: the admin's password
    and a current code (or a recovery code, then spent). None when both are right; otherwise
    which one is wrong ("password" also for a lockout). Failures count toward the lockout, so
    the caller commits whatever the answer."""
    try:
        admin_sessions.authenticate(session, admin.email, password, address=address)
    except admin_sessions.SignInRefused:
        return "password"
    if use_code(session, admin, code, secret_key=secret_key) is None:
        session.add(AdminSignInAttempt(email_key=admin.email_key, address=address))
        session.flush()
        return "code"
    return None


def turn_off(session: Session, admin: AdminUser, *, actor: str) -> None:
    """Turn two-step sign-in off (after confirm_identity); not while the team requires it."""
    if not admin.two_step_on:
        raise Conflict("two-step sign-in is not on")
    if team_requires(admin):
        raise Conflict("your team requires two-step sign-in")
    admin.totp_secret = admin.totp_pending_secret = None
    admin.totp_enabled_at = admin.totp_last_step = None
    session.execute(delete(AdminRecoveryCode).where(AdminRecoveryCode.admin_id == admin.id))
    session.flush()
    audit(session, admin, actor, "admin.two_step_disabled")


def renew_recovery_codes(
    session: Session, admin: AdminUser, *, secret_key: str, actor: str
) -> list[str]:
    """Ten new recovery codes (after confirm_identity); the old ones stop working."""
    if not admin.two_step_on:
        raise Conflict("two-step sign-in is not on")
    codes = _replace_recovery_codes(session, admin, secret_key)
    audit(session, admin, actor, "admin.recovery_codes_renewed")
    return codes


def require_for_team(
    session: Session, partner: Partner, required: bool, *, by: AdminUser, actor: str
) -> None:
    """An owner's choice: every admin of `partner` must use two-step sign-in (those without it
    set it up right after their password, before anything else). The owner first."""
    if required and not by.two_step_on:
        raise Conflict("turn on two-step sign-in for your own account first")
    if partner.require_two_step == required:
        return
    partner.require_two_step = required
    session.flush()
    action = "partner.two_step_required" if required else "partner.two_step_optional"
    record(session, partner.id, actor, action, "partner", partner.id)


def must_set_up(admin: AdminUser) -> bool:
    """Whether this admin may do nothing but set up two-step sign-in."""
    return team_requires(admin) and not admin.two_step_on


def team_requires(admin: AdminUser) -> bool:
    """Whether the admin's team requires two-step sign-in (a partner may; an operator's team
    chooses per person)."""
    return admin.partner is not None and admin.partner.require_two_step


# --- the second step of signing in --------------------------------------------------------


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="ridepledge.admin-two-step")


def pending_token(secret_key: str, admin: AdminUser, next_path: str) -> str:
    """What the console keeps between a correct password and the code: who, and where to go."""
    return _serializer(secret_key).dumps([admin.id, password_links.fingerprint(admin), next_path])


def pending_admin(
    session: Session, secret_key: str, token: str | None
) -> tuple[AdminUser, str] | None:
    """The admin (and next path) a pending token is for, or None if it is forged, older than
    PENDING_LIFETIME, or the password or sessions changed since."""
    if not token:
        return None
    try:
        admin_id, fingerprint, next_path = _serializer(secret_key).loads(
            token, max_age=int(PENDING_LIFETIME.total_seconds())
        )
    except (BadSignature, ValueError, TypeError):
        return None
    admin = session.get(AdminUser, admin_id) if isinstance(admin_id, str) else None
    if admin is None or not admin.two_step_on:
        return None
    if not secrets.compare_digest(str(fingerprint), password_links.fingerprint(admin)):
        return None
    return admin, str(next_path)


def second_step(
    session: Session,
    admin: AdminUser,
    code: str | None,
    *,
    secret_key: str,
    address: str,
    now: datetime | None = None,
) -> str:
    """Finish a sign-in with a code: "totp" or "recovery", or SignInRefused (a wrong code, a
    replayed one, or a lockout: the same answer). Every try counts toward the lockout."""
    now = now or utcnow()
    locked = admin_sessions.is_locked(session, admin.email_key, address, now)
    kind = None if locked else use_code(session, admin, code, secret_key=secret_key, now=now)
    session.add(
        AdminSignInAttempt(
            email_key=admin.email_key, address=address, succeeded=kind is not None, created_at=now
        )
    )
    session.flush()
    if kind is None:
        raise admin_sessions.SignInRefused("sign-in refused")
    admin.last_sign_in_at = now
    session.flush()
    return kind
