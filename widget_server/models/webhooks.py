"""Webhooks of partners and of operators: endpoints, the outbox of messages, deliveries and
every attempt. Each endpoint, message and delivery belongs to exactly one partner or one
operator (`one_tenant`); partner queries filter on `partner_id`, so they never see an operator's
rows, and the other way round."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.api_clients import ONE_TENANT_SQL
from widget_server.models.types import UTCDateTime, utcnow


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (CheckConstraint(ONE_TENANT_SQL, name="one_tenant"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("we"))
    partner_id: Mapped[str | None] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    operator_id: Mapped[str | None] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    events: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="enabled")  # enabled | disabled
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # Signing secrets, encrypted with a key derived from SECRET_KEY (they must be usable to sign).
    secret_encrypted: Mapped[str] = mapped_column(Text)
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookMessage(Base):
    """One event to tell a partner about, written in the transaction of the change itself."""

    __tablename__ = "webhook_messages"
    __table_args__ = (
        Index("ix_webhook_messages_partner", "partner_id", "id"),
        CheckConstraint(ONE_TENANT_SQL, name="one_tenant"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("msg"))
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    operator_id: Mapped[str | None] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict] = mapped_column(JSON)  # the body: {"type", "timestamp", "data"}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """A message on its way to one endpoint; retried with backoff until it succeeds or we stop."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        CheckConstraint(ONE_TENANT_SQL, name="one_tenant"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("whd"))
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    operator_id: Mapped[str | None] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(ForeignKey("webhook_messages.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|succeeded|failed
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    message: Mapped[WebhookMessage] = relationship()
    endpoint: Mapped[WebhookEndpoint] = relationship()
    attempts: Mapped[list[WebhookAttempt]] = relationship(
        order_by="WebhookAttempt.id", cascade="all, delete-orphan"
    )


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery: what happened, how long it took, what came back."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(String(1000))
    error: Mapped[str | None] = mapped_column(String(500))
