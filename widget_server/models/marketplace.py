"""The bus marketplace: a partner's request for a bus, which operators were asked, and their
quotes. An award turns one quote into a draft trip (`trips.quote_id`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.types import UTCDateTime, utcnow

TRIP_REQUEST_STATUSES = ("open", "awarded", "canceled")
QUOTE_STATUSES = ("open", "awarded", "not_awarded", "withdrawn")


class TripRequest(Base):
    """A partner asking operators for a bus. `awarded_quote_id` and `trip_id` point at the
    outcome without a foreign key (the trip points back at its quote), so the tables form no
    cycle."""

    __tablename__ = "trip_requests"
    __table_args__ = (
        CheckConstraint("expected_riders >= 1", name="expected_riders_positive"),
        Index("ix_trip_requests_partner_created", "partner_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("treq"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    origin_name: Mapped[str] = mapped_column(String(200))
    origin_region: Mapped[str | None] = mapped_column(String(200))
    departs_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expected_riders: Mapped[int] = mapped_column(Integer)
    vehicle_kind: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open")
    awarded_quote_id: Mapped[str | None] = mapped_column(String(40))
    trip_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TripRequestInvite(Base):
    """An operator asked to quote on a request: what the operator may see."""

    __tablename__ = "trip_request_invites"

    request_id: Mapped[str] = mapped_column(
        ForeignKey("trip_requests.id", ondelete="CASCADE"), primary_key=True
    )
    operator_id: Mapped[str] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Quote(Base):
    """An operator's price for a request: `amount` in minor units of `currency` for the whole
    bus. Revised in place while open."""

    __tablename__ = "quotes"
    __table_args__ = (
        CheckConstraint("seats >= 1", name="seats_positive"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        Index("ix_quotes_request_operator", "request_id", "operator_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("quo"))
    request_id: Mapped[str] = mapped_column(ForeignKey("trip_requests.id", ondelete="CASCADE"))
    operator_id: Mapped[str] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    vehicle_id: Mapped[str | None] = mapped_column(
        ForeignKey("vehicles.id", ondelete="SET NULL"), index=True
    )
    vehicle_kind: Mapped[str | None] = mapped_column(String(32))
    seats: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    notes: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
