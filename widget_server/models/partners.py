"""A partner: one tenant (a league or team) with its branding and embedding rules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.types import UTCDateTime, utcnow


class Partner(Base):
    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ptn"))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    allowed_origins: Mapped[list] = mapped_column(JSON, default=list)
    branding: Mapped[dict] = mapped_column(JSON, default=dict)
    support_email: Mapped[str | None] = mapped_column(String(320))
    terms_url: Mapped[str | None] = mapped_column(String(2000))
    # The partner's page that embeds the widget: share links lead there when it is set.
    site_url: Mapped[str | None] = mapped_column(String(2000))
    demand_threshold: Mapped[int] = mapped_column(Integer, default=25)
    # How long a waitlist offer holds freed seats for the fan it was sent to.
    waitlist_hold_hours: Mapped[int] = mapped_column(Integer, default=4, server_default="4")
    # The most seats one fan (one normalised email) may hold on one trip, over all pledges.
    max_seats_per_fan: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
