"""Partner admins of the console: accounts, their server-side sessions, and sign-in attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.api_clients import ONE_TENANT_SQL
from widget_server.models.operators import OPERATOR_ROLES, Operator
from widget_server.models.partners import Partner
from widget_server.models.types import UTCDateTime, utcnow

ADMIN_ROLES = ("owner", "editor", "developer", "viewer")


class AdminUser(Base):
    """One person of one partner (the console) or of one operator (the operator portal):
    exactly one of `partner_id` and `operator_id` is set, and `role` is one of that side's
    roles (`ADMIN_ROLES` or `models.operators.OPERATOR_ROLES`). `email_key` (normalised,
    case-folded) is unique across the service, so signing in needs only an email;
    `password_hash` is an argon2id hash, or None until the person sets a password from their
    link."""

    __tablename__ = "admin_users"
    __table_args__ = (CheckConstraint(ONE_TENANT_SQL, name="one_tenant"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("adm"))
    partner_id: Mapped[str | None] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    operator_id: Mapped[str | None] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Bumped by "sign out everywhere" and by a password change: older sessions stop working.
    session_generation: Mapped[int] = mapped_column(Integer, default=0)
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two-step sign-in (TOTP): the secret Fernet-encrypted (keys.py, "admin-totp-secrets"), the
    # one being set up until a code confirms it, and the last time step accepted, so a code
    # works once.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_pending_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    partner: Mapped[Partner | None] = relationship(lazy="joined")
    operator: Mapped[Operator | None] = relationship(lazy="joined")

    @property
    def tenant(self) -> Partner | Operator:
        """The partner or the operator this person works for."""
        return self.operator if self.operator_id is not None else self.partner

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles this person may have: their side's."""
        return OPERATOR_ROLES if self.operator_id is not None else ADMIN_ROLES

    @property
    def two_step_on(self) -> bool:
        return self.totp_enabled_at is not None and self.totp_secret is not None


class AdminSession(Base):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is stored."""

    __tablename__ = "admin_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ses"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    admin_id: Mapped[str] = mapped_column(
        ForeignKey("admin_users.id", ondelete="CASCADE"), index=True
    )
    generation: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    admin: Mapped[AdminUser] = relationship(lazy="joined")


class AdminSignInAttempt(Base):
    """One failed or successful sign-in, by email key and client address: the lockout counts
    these, so it holds on every app host. Kept whether or not the email belongs to anyone."""

    __tablename__ = "admin_sign_in_attempts"
    __table_args__ = (
        Index("ix_admin_sign_in_attempts_email", "email_key", "created_at"),
        Index("ix_admin_sign_in_attempts_address", "address", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email_key: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AdminRecoveryCode(Base):
    """One two-step recovery code: only its HMAC is stored (keys.py, "admin-recovery-codes");
    it works once (`used_at`). Ten are made at a time; making new ones deletes the old."""

    __tablename__ = "admin_recovery_codes"
    __table_args__ = (UniqueConstraint("admin_id", "code_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    admin_id: Mapped[str] = mapped_column(
        ForeignKey("admin_users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
