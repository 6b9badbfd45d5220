"""A sold-out trip's waitlist: fans in line for seats, and the offers that hold seats for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.pledges import MAX_SEATS_PER_PLEDGE
from widget_server.models.trips import Stop, Trip
from widget_server.models.types import UTCDateTime, utcnow

# waiting -> offered -> claimed | expired | declined; waiting/offered -> closed (offers stopped).
WAITLIST_STATUSES = ("waiting", "offered", "claimed", "expired", "declined", "closed")


class WaitlistEntry(Base):
    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint(f"seats >= 1 AND seats <= {MAX_SEATS_PER_PLEDGE}", name="seats_in_range"),
        Index("ix_waitlist_entries_trip_status", "trip_id", "status", "position"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("wle"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    trip_id: Mapped[str] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"))
    stop_id: Mapped[str] = mapped_column(ForeignKey("stops.id", ondelete="RESTRICT"))
    # Order in line: the autoincrementing id of the join, so ties are impossible.
    position: Mapped[int] = mapped_column(Integer)
    seats: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    status: Mapped[str] = mapped_column(String(12), default="waiting")
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pledge_id: Mapped[str | None] = mapped_column(ForeignKey("pledges.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    trip: Mapped[Trip] = relationship()
    stop: Mapped[Stop] = relationship()


# The smallest party waiting in line for a trip (None when nobody waits): what the sale decision
# (pledges/sales.py) needs of the waitlist. Declared here, where both tables are known. Deferred:
# reads that decide for many trips load it in their query (`sales.DECIDING`); otherwise it is
# one small query when first read.
Trip.smallest_waiting_party = column_property(
    select(func.min(WaitlistEntry.seats))
    .where(WaitlistEntry.trip_id == Trip.id, WaitlistEntry.status == "waiting")
    .correlate_except(WaitlistEntry)
    .scalar_subquery(),
    deferred=True,
)
