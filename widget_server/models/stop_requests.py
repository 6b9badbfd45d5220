"""Fans asking for a pick-up stop a trip does not have yet, counted per place and network."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.trips import Trip
from widget_server.models.types import UTCDateTime, utcnow


class StopRequest(Base):
    __tablename__ = "stop_requests"
    __table_args__ = (
        # One request per fan and place: asking twice does not count twice.
        UniqueConstraint("trip_id", "place_key", "email_key"),
        Index("ix_stop_requests_trip_place", "trip_id", "place_key"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("srq"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    trip_id: Mapped[str] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"))
    place: Mapped[str] = mapped_column(String(200))
    # The place folded (case, accents, spacing, punctuation) so "Main St." and "main st" count
    # as one place.
    place_key: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    email: Mapped[str] = mapped_column(String(320))
    # `text.fan_email_key(email)`: fan+1@x asking again is the same fan asking again.
    email_key: Mapped[str] = mapped_column(String(320))
    # HMAC of the requesting network (`demand.address_key`), never the address: a place is
    # counted once per network, and only a few emails per network are written to. NULL on
    # requests made before it was kept (each counts as its own network).
    address_key: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    # Set when the partner adds a stop for this place.
    stop_id: Mapped[str | None] = mapped_column(ForeignKey("stops.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    trip: Mapped[Trip] = relationship()
