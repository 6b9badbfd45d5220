"""Back-office accounts: creating them, passwords, roles and the team. An account works for
one tenant: a partner (the console, `ADMIN_ROLES`) or an operator (the operator portal,
`OPERATOR_ROLES`); everything here serves both, and each audit entry lands in that tenant's log.

Plain Python over a Session: flushes, never commits. Secrets (the app's SECRET_KEY) are passed
in, so nothing here needs Flask.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.errors import Conflict, ValidationFailed
from widget_server.domain.text import email_key, normalize_email
from widget_server.domain.work import schedule
from widget_server.models import AdminSignInAttempt, AdminUser, Operator, Partner
from widget_server.models.admins import ADMIN_ROLES
from widget_server.models.operators import OPERATOR_ROLES
from widget_server.models.types import utcnow

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 200


PASSWORD_HASHER = PasswordHasher()


def actor_of(admin: AdminUser) -> str:
    """How an admin appears in the audit log."""
    return f"admin:{admin.email}"


Tenant = Partner | Operator


def roles_of(tenant: Tenant) -> tuple[str, ...]:
    """The roles a partner's or an operator's people may have."""
    return OPERATOR_ROLES if isinstance(tenant, Operator) else ADMIN_ROLES


def _tenant_column(tenant: Tenant):
    return AdminUser.operator_id if isinstance(tenant, Operator) else AdminUser.partner_id


def check_role(role: str, roles: tuple[str, ...] = ADMIN_ROLES) -> str:
    if role not in roles:
        raise ValidationFailed.field("role", f"must be one of {', '.join(roles)}")
    return role


def audit(
    session: Session, admin: AdminUser, actor: str, action: str, data: dict | None = None
) -> None:
    """An audit entry about `admin`, in the log of the partner or operator they work for."""
    record(
        session,
        admin.partner_id,
        actor,
        action,
        "admin",
        admin.id,
        data,
        operator_id=admin.operator_id,
    )


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


def normalized_email(email: str) -> tuple[str, str]:
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
    tenant: Tenant,
    *,
    email: str,
    role: str = "owner",
    password: str | None = None,
    actor: str,
) -> AdminUser:
    """A new admin of `tenant` (a partner or an operator). Without a password, the admin sets
    one from a signed link."""
    address, key = normalized_email(email)
    check_role(role, roles_of(tenant))
    if session.scalar(select(AdminUser.id).where(AdminUser.email_key == key)):
        raise Conflict(f"{address} already has a console account")
    side = {"operator_id" if isinstance(tenant, Operator) else "partner_id": tenant.id}
    admin = AdminUser(**side, email=address, email_key=key, role=role, session_generation=0)
    if password is not None:
        admin.password_hash = PASSWORD_HASHER.hash(check_password(password))
        admin.password_changed_at = utcnow()
    session.add(admin)
    session.flush()
    audit(session, admin, actor, "admin.created", {"email": address, "role": role})
    return admin


def set_password(session: Session, admin: AdminUser, password: str, *, actor: str) -> None:
    """A new password; every session of the admin ends (and every outstanding link stops
    working, since links are bound to the old hash)."""
    admin.password_hash = PASSWORD_HASHER.hash(check_password(password))
    admin.password_changed_at = utcnow()
    admin.session_generation += 1
    # Proof of owning the mailbox (or the console): the email's lockout starts over.
    session.add(
        AdminSignInAttempt(email_key=admin.email_key, address="(password set)", succeeded=True)
    )
    session.flush()
    audit(session, admin, actor, "admin.password_set")


# --- the team -----------------------------------------------------------------------------


def team_of(session: Session, tenant: Tenant) -> list[AdminUser]:
    """The partner's or operator's people, owners first, then by email."""
    order = {role: index for index, role in enumerate(roles_of(tenant))}
    admins = session.scalars(select(AdminUser).where(_tenant_column(tenant) == tenant.id))
    return sorted(admins, key=lambda a: (order.get(a.role, 9), a.email_key))


def ask_invite(
    session: Session, tenant: Tenant, *, email: str, role: str, invited_by: AdminUser
) -> str:
    """Invite a teammate: the address and role are checked here, the account lookup and the
    invitation happen in the `invite_admin` job, so the answer is the same whether or not the
    address already has a console account (with this partner or another). Returns the
    normalised address."""
    address, _key = normalized_email(email)
    check_role(role, roles_of(tenant))
    schedule(session, "invite_admin", tenant.id, address, role, invited_by.id)
    return address


def invite_if_new(
    session: Session, tenant: Tenant, *, email: str, role: str, invited_by: AdminUser
) -> AdminUser | None:
    """The job's half of `ask_invite`: the invitation, unless the address already has a
    console account (one account per address, across partners): then nothing happens, and
    the inviter only sees that nobody new joined the team list."""
    if find_admin(session, email) is not None:
        return None
    return invite_admin(session, tenant, email=email, role=role, invited_by=invited_by)


def invite_admin(
    session: Session, tenant: Tenant, *, email: str, role: str, invited_by: AdminUser
) -> AdminUser:
    """A new teammate without a password, emailed a signed link (72 h, works once) to set one."""
    from widget_server.domain.notify import queue_admin_email

    admin = create_admin(session, tenant, email=email, role=role, actor=actor_of(invited_by))
    queue_admin_email(session, admin, "admin_invite", invited_by=invited_by.email)
    return admin


def _owners(session: Session, admin: AdminUser) -> int:
    """How many owners the team of `admin` has."""
    tenant = admin.tenant
    return session.scalar(
        select(func.count()).where(_tenant_column(tenant) == tenant.id, AdminUser.role == "owner")
    )


def change_role(session: Session, admin: AdminUser, role: str, *, actor: str) -> AdminUser:
    """A new role for `admin`; the last owner stays an owner (someone must run the team)."""
    check_role(role, admin.roles)
    if admin.role == role:
        return admin
    if admin.role == "owner" and _owners(session, admin) <= 1:
        raise Conflict("this is the last owner; make someone else an owner first")
    previous, admin.role = admin.role, role
    session.flush()
    audit(
        session,
        admin,
        actor,
        "admin.role_changed",
        {"email": admin.email, "from": previous, "to": role},
    )
    return admin


def remove_admin(session: Session, admin: AdminUser, *, actor: str) -> None:
    """Remove a teammate (their sessions end with them); never the last owner."""
    if admin.role == "owner" and _owners(session, admin) <= 1:
        raise Conflict("this is the last owner; make someone else an owner first")
    audit(session, admin, actor, "admin.removed", {"email": admin.email, "role": admin.role})
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
    audit(session, admin, actor, "admin.language_set", {"locale": locale})
