"""A partner's uploaded logo: the re-encoded image bytes (never the file as uploaded), kept in
the database so every app host serves the same file, addressed by the sha256 of its bytes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from widget_server.db import Base
from widget_server.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from widget_server.models.partners import Partner

# Pillow's format name -> (file extension, Content-Type) of the logos we store.
LOGO_FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}
# Characters of the sha256 in the logo's URL (64 bits: a new logo always gets a new URL).
DIGEST_IN_URL = 16


class LogoFile:
    """The names of a stored logo image (`sha256` and `format` columns)."""

    sha256: str
    format: str

    @property
    def file_name(self) -> str:
        """`3f2a9c0d41be77a1.png`: the content-hashed name the logo is served under."""
        return f"{self.sha256[:DIGEST_IN_URL]}.{self.extension}"

    @property
    def extension(self) -> str:
        return LOGO_FORMATS[self.format][0]

    @property
    def content_type(self) -> str:
        return LOGO_FORMATS[self.format][1]


class PartnerLogo(LogoFile, Base):
    """One logo per partner (a new upload replaces the row)."""

    __tablename__ = "partner_logos"

    partner_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    # Loaded only when the file itself is served, not with every page that shows its URL.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    partner: Mapped[Partner] = relationship(back_populates="logo")


class PartnerLogoPreview(LogoFile, Base):
    """A logo file chosen on the console's branding page but not saved yet, re-encoded like a
    saved one, so the live preview can show it before saving. One per partner (the next file
    chosen replaces it); served only to the partner's signed-in admins."""

    __tablename__ = "partner_logo_previews"

    partner_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
