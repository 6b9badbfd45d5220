"""The signed links that set or reset a password (the CLI's one-time link, password reset,
team invites): bound to the admin's current password, so they stop working once it changes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from widget_server.domain.accounts.admins import audit, find_admin
from widget_server.domain.work import schedule
from widget_server.models import AdminUser

# How long each kind of password link works.
LINK_LIFETIMES = {
    "set": timedelta(hours=72),  # printed by `ridepledge admins create` without --password
    "invite": timedelta(hours=72),
    "reset": timedelta(hours=1),
}


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
    audit(session, admin, "system", "admin.password_reset_requested")
    return admin
