"""An event: a game or show that trips go to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.partners import Partner
from widget_server.models.sponsors import Sponsor
from widget_server.models.types import UTCDateTime, utcnow


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_partner_starts", "partner_id", "starts_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("evt"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    venue: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64))
    # Who "presents" the event's trips (a trip's own sponsor wins): domain/sponsors.py.
    sponsor_id: Mapped[str | None] = mapped_column(ForeignKey("sponsors.id", ondelete="SET NULL"))
    # Group tiers every trip of the event uses unless it sets its own (domain/pricing).
    group_tiers: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    partner: Mapped[Partner] = relationship()
    sponsor: Mapped[Sponsor | None] = relationship()
