"""Payment-side records: the simulated provider's ledger and processed Stripe events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from widget_server.db import Base
from widget_server.models.types import UTCDateTime, utcnow


class SimulatedPayment(Base):
    """What the `simulated` provider did, as Stripe would remember it: one row per idempotency
    key, so a retried or replayed call answers the first result and never moves money twice."""

    __tablename__ = "simulated_payments"

    # pi_sim_... / re_sim_... / tr_sim_...
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # charge | refund | transfer
    status: Mapped[str] = mapped_column(String(30))  # succeeded | requires_action | declined
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    customer_ref: Mapped[str | None] = mapped_column(String(255))  # a transfer's: its account
    payment_method_ref: Mapped[str | None] = mapped_column(String(255))
    charge_ref: Mapped[str | None] = mapped_column(String(40))  # the charge a refund returns
    error_code: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StripeEventRecord(Base):
    """A Stripe webhook event already handled: duplicates are recognised and ignored."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # Stripe's evt_...
    type: Mapped[str] = mapped_column(String(80))
    object_ref: Mapped[str | None] = mapped_column(String(255))
    stripe_created: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
