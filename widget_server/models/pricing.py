"""Promo codes and their redemptions (the price steps and group tiers are JSON on the trip and
the event: `Trip.price_steps`, `Trip.group_tiers`, `Event.group_tiers`; see domain/pricing)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.types import UTCDateTime, utcnow


class PromoCode(Base):
    """A code a fan types for a discount per seat: `percent_off` or `amount_off` (in
    `currency`), valid from `starts_at` to `ends_at`, at most `max_redemptions` uses in all and
    `per_fan_limit` per fan, for every trip of the partner or one event or one trip."""

    __tablename__ = "promo_codes"
    __table_args__ = (
        UniqueConstraint("partner_id", "code", name="uq_promo_codes_partner_code"),
        CheckConstraint(
            "(percent_off IS NULL) <> (amount_off IS NULL)", name="one_kind_of_discount"
        ),
        CheckConstraint("percent_off IS NULL OR percent_off BETWEEN 1 AND 100", name="percent"),
        CheckConstraint("amount_off IS NULL OR amount_off >= 1", name="amount_positive"),
        # The redemption UPDATE's predicate is what keeps this; the constraint is the backstop.
        CheckConstraint(
            "max_redemptions IS NULL OR times_redeemed <= max_redemptions",
            name="redemptions_within_max",
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("promo"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    # Stored upper case (`domain.pricing.promos.normalize_code`): codes are case-insensitive.
    code: Mapped[str] = mapped_column(String(40))
    percent_off: Mapped[int | None] = mapped_column(Integer)
    amount_off: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str | None] = mapped_column(String(3))
    max_redemptions: Mapped[int | None] = mapped_column(Integer)
    per_fan_limit: Mapped[int | None] = mapped_column(Integer)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    trip_id: Mapped[str | None] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    times_redeemed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PromoRedemption(Base):
    """One use of a code: written with the pledge, in its transaction. A use is never given
    back (a withdrawn or dropped pledge keeps it), like a redeemed coupon."""

    __tablename__ = "promo_redemptions"
    __table_args__ = (Index("ix_promo_redemptions_code_fan", "promo_code_id", "fan_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    promo_code_id: Mapped[str] = mapped_column(ForeignKey("promo_codes.id", ondelete="CASCADE"))
    pledge_id: Mapped[str] = mapped_column(
        ForeignKey("pledges.id", ondelete="CASCADE"), unique=True
    )
    fan_key: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
