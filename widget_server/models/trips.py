"""A trip (one bus from one origin to one event) and its ordered pick-up stops."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.events import Event
from widget_server.models.types import UTCDateTime, utcnow

TRIP_STATUSES = ("draft", "open", "confirmed", "completed", "failed", "canceled")


class Trip(Base):
    __tablename__ = "trips"
    __table_args__ = (
        CheckConstraint("seats_pledged >= 0 AND seats_pledged <= capacity", name="seats_in_range"),
        CheckConstraint(
            "seats_held >= 0 AND seats_pledged + seats_held <= capacity", name="held_in_range"
        ),
        CheckConstraint("min_riders >= 1 AND min_riders <= capacity", name="min_riders_in_range"),
        CheckConstraint("unit_amount >= 0", name="unit_amount_non_negative"),
        Index("ix_trips_partner_event", "partner_id", "event_id"),
        Index("ix_trips_status_deadline", "status", "pledge_deadline"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("trp"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="RESTRICT"))
    origin_name: Mapped[str] = mapped_column(String(200))
    origin_region: Mapped[str | None] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer)
    min_riders: Mapped[int] = mapped_column(Integer)
    # Seats held by live pledges (pledged, charging, paid, action_required). Changed only by an
    # atomic conditional UPDATE in domain.pledges.seat_taking, which is what keeps capacity safe.
    seats_pledged: Mapped[int] = mapped_column(Integer, default=0)
    # Seats held for waitlist offers not yet claimed (domain.pledges.waitlist): nobody else may
    # take them.
    seats_held: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unit_amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    pledge_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    operator_name: Mapped[str | None] = mapped_column(String(200))
    operator_phone: Mapped[str | None] = mapped_column(String(40))
    operator_email: Mapped[str | None] = mapped_column(String(320))
    # The bus company awarded the trip (models/operators.py, models/marketplace.py): its quote,
    # the vehicle and driver it assigned, and when the bus left.
    operator_id: Mapped[str | None] = mapped_column(
        ForeignKey("operators.id", ondelete="RESTRICT"), index=True
    )
    quote_id: Mapped[str | None] = mapped_column(ForeignKey("quotes.id", ondelete="SET NULL"))
    vehicle_id: Mapped[str | None] = mapped_column(ForeignKey("vehicles.id", ondelete="SET NULL"))
    driver_id: Mapped[str | None] = mapped_column(
        ForeignKey("operator_drivers.id", ondelete="SET NULL")
    )
    departed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped by each new driver link: a link names the generation it was made for, so issuing
    # a new one ends every older one.
    driver_link_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the current generation's link stops working (None: no live link was issued), so the
    # console can show the link again (domain.checkin.current_driver_link).
    driver_link_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When it was issued: the link shown again (console, email) carries it like the first
    # answer did, so check-ins dated before it are refused whichever copy the driver opened.
    driver_link_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
    stops: Mapped[list[Stop]] = relationship(
        back_populates="trip", order_by="Stop.position", cascade="all, delete-orphan"
    )

    @property
    def seats_remaining(self) -> int:
        return self.capacity - self.seats_pledged - self.seats_held

    @property
    def departs_at(self) -> datetime | None:
        """The first stop's departure: the cut-off for new pledges."""
        return self.stops[0].departs_at if self.stops else None


class Stop(Base):
    __tablename__ = "stops"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("stp"))
    trip_id: Mapped[str] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    departs_at: Mapped[datetime] = mapped_column(UTCDateTime)

    trip: Mapped[Trip] = relationship(back_populates="stops")
