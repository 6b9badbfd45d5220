"""A partner: one tenant (a league or team) with its branding and embedding rules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.logos import PartnerLogo
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
    # The fan-facing headline and intro line per language ({"es": {"headline": ...}}); a
    # language or key left out shows the product's own words (domain.branding.wording_for).
    wording: Mapped[dict] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    support_email: Mapped[str | None] = mapped_column(String(320))
    terms_url: Mapped[str | None] = mapped_column(String(2000))
    # The partner's page that embeds the widget: share links lead there when it is set.
    site_url: Mapped[str | None] = mapped_column(String(2000))
    demand_threshold: Mapped[int] = mapped_column(Integer, default=25)
    # How long a waitlist offer holds freed seats for the fan it was sent to.
    waitlist_hold_hours: Mapped[int] = mapped_column(Integer, default=4, server_default="4")
    # The most seats one fan (one normalised email) may hold on one trip, over all pledges.
    max_seats_per_fan: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    # Set by an owner in the console: every admin of the partner must use two-step sign-in.
    require_two_step: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The uploaded logo (domain.logos), when there is one; it is shown instead of logo_url.
    logo: Mapped[PartnerLogo | None] = relationship(
        back_populates="partner", cascade="all, delete-orphan", passive_deletes=True, uselist=False
    )
