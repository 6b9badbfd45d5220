"""What the service owes an operator for a completed trip, and its transfer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.types import UTCDateTime, utcnow

PAYOUT_STATUSES = ("pending", "paid", "failed", "canceled")


class Payout(Base):
    """One payout per trip (`trip_id` unique: a trip is paid at most once); `attempt` counts
    the transfer tries, all sent under the one key `payout-<id>-transfer`. A try holds a claim
    (`claim_expires_at`) as a pledge's charge does; `retry_at` is when the next try is due."""

    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        Index("ix_payouts_operator_created", "operator_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("po"))
    trip_id: Mapped[str] = mapped_column(ForeignKey("trips.id", ondelete="RESTRICT"), unique=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id", ondelete="RESTRICT"))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    transfer_id: Mapped[str | None] = mapped_column(String(255))
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The claim of the try under way (domain/operators/payouts.py), and the next try's time.
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(500))
