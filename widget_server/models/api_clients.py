"""OAuth2 clients of a partner and the access tokens issued to them (stored hashed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.types import UTCDateTime, utcnow

# Each client, and each token, belongs to one partner or one operator, never both.
ONE_TENANT_SQL = "(partner_id IS NULL) <> (operator_id IS NULL)"


class ApiClient(Base):
    """A partner's or an operator's API client (client credentials grant): exactly one of
    `partner_id` and `operator_id` is set. The secret is kept only as a hash."""

    __tablename__ = "api_clients"
    __table_args__ = (CheckConstraint(ONE_TENANT_SQL, name="one_tenant"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cli"))
    partner_id: Mapped[str | None] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    operator_id: Mapped[str | None] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(255))
    # After a roll, the replaced secret keeps working until the overlap the admin chose ends.
    previous_secret_hash: Mapped[str | None] = mapped_column(String(255))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scope: Mapped[str] = mapped_column(String(500))  # space separated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccessToken(Base):
    """A bearer token: only its SHA-256 is stored, so a database leak reveals no live token."""

    __tablename__ = "access_tokens"
    __table_args__ = (
        Index("ix_access_tokens_client", "client_id", "issued_at"),
        CheckConstraint(ONE_TENANT_SQL, name="one_tenant"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id", ondelete="CASCADE"))
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    operator_id: Mapped[str | None] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(500))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
