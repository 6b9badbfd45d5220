"""A sponsor that "presents" a trip or an event: a name, an https link and an optional logo
(re-encoded like the partner's, `domain/logos.py`). Each event or trip that has a sponsor
owns its own row (`events.sponsor_id`, `trips.sponsor_id`); a trip's own sponsor wins over
its event's (`domain/sponsors.py:sponsor_of`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.logos import LogoFile
from widget_server.models.partners import Partner
from widget_server.models.types import UTCDateTime, utcnow


class Sponsor(LogoFile, Base):
    __tablename__ = "sponsors"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("spn"))
    partner_id: Mapped[str] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    # The logo, when one was uploaded (all five set together, or all None).
    sha256: Mapped[str | None] = mapped_column(String(64))
    format: Mapped[str | None] = mapped_column(String(8))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    size: Mapped[int | None] = mapped_column(Integer)
    # Loaded only when the file itself is served.
    data: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    partner: Mapped[Partner] = relationship()

    @property
    def has_logo(self) -> bool:
        return self.sha256 is not None
