"""A demand signal: a fan asking for a trip to an event from an origin that has none."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.types import UTCDateTime, utcnow


class DemandSignal(Base):
    __tablename__ = "demand_signals"
    __table_args__ = (
        # One fan (email) counts once per event and origin, whatever the concurrency.
        UniqueConstraint("event_id", "origin_key", "email", name="uq_demand_event_origin_email"),
        Index("ix_demand_event_origin", "event_id", "origin_key", "address_key"),
        Index("ix_demand_partner", "partner_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("dem"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    origin: Mapped[str] = mapped_column(String(200))
    # Normalised origin (case, spacing, accents folded) so "St. Louis" and "st louis" count once.
    origin_key: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    # HMAC of the requester's network (IPv4 address, IPv6 /64), never the address itself:
    # demand counts distinct networks, so made-up emails from one place count once.
    address_key: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DemandTally(Base):
    """How many distinct requesters ask for a trip from one origin to one event. Its row is
    locked while a request is counted, so the threshold is crossed by exactly one request."""

    __tablename__ = "demand_tallies"

    event_id: Mapped[str] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    origin_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    count: Mapped[int] = mapped_column(Integer, default=0)
    threshold_reached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
