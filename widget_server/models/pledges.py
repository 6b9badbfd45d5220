"""A pledge (one fan's seats on one trip) and its status history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
    func,
    select,
)
from sqlalchemy.orm import Mapped, aliased, column_property, mapped_column, relationship

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.trips import Stop, Trip
from widget_server.models.types import UTCDateTime, utcnow

# Seats one pledge may take, whatever the partner allows (a partner may set a lower cap per
# fan; never a higher one): the table's check constraint, read by the domain (domain/limits).
MAX_SEATS_PER_PLEDGE = 10

PLEDGE_STATUSES = (
    "pledged",
    "charging",
    "paid",
    "action_required",
    "dropped",
    "canceled",
    "released",
    "refunded",
)
# Statuses whose seats count against the trip's capacity.
LIVE_STATUSES = ("pledged", "charging", "paid", "action_required")


def boarding_lookup(trip_id: str, pledge_id: str) -> str:
    """The lookup part of a pledge's boarding code (`domain/boarding.py`): the trip's tag (the
    last 2 characters of its id) then the pledge's reference (the last 5 of its id), upper
    case. It depends on the ids only, so it is stored (`Pledge.boarding_ref`) and indexed."""
    return (trip_id.rsplit("_", 1)[-1][-2:] + pledge_id.rsplit("_", 1)[-1][-5:]).upper()


def _boarding_ref_default(context) -> str:
    values = context.get_current_parameters()
    return boarding_lookup(values["trip_id"], values["id"])


class Pledge(Base):
    __tablename__ = "pledges"
    __table_args__ = (
        CheckConstraint(f"seats >= 1 AND seats <= {MAX_SEATS_PER_PLEDGE}", name="seats_in_range"),
        CheckConstraint("discount_amount >= 0 AND amount >= 0", name="amounts_non_negative"),
        Index("ix_pledges_trip_status", "trip_id", "status"),
        Index("ix_pledges_partner_created", "partner_id", "id"),
        Index("ix_pledges_trip_email_key", "trip_id", "email_key"),
        Index("ix_pledges_referred_by", "referred_by"),
        Index("ix_pledges_partner_boarding_ref", "partner_id", "boarding_ref"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("plg"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    trip_id: Mapped[str] = mapped_column(ForeignKey("trips.id", ondelete="RESTRICT"))
    stop_id: Mapped[str] = mapped_column(ForeignKey("stops.id", ondelete="RESTRICT"))
    seats: Mapped[int] = mapped_column(Integer)
    # The price locked when the pledge was made (domain/pricing.price_pledge): unit price,
    # discounts (group tier and promo code), add-ons and `amount`, what is charged.
    unit_amount: Mapped[int] = mapped_column(Integer)
    discount_amount: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    promo_code: Mapped[str | None] = mapped_column(String(40))
    promo_code_id: Mapped[str | None] = mapped_column(
        ForeignKey("promo_codes.id", ondelete="SET NULL")
    )
    # `PriceBreakdown.as_json()`: every line of the price (tier, promo, add-ons).
    price_breakdown: Mapped[dict | None] = mapped_column(JSON)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    # `domain.text.email_key(email)`: what makes two pledges the same fan's (seat cap per fan).
    email_key: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    status: Mapped[str] = mapped_column(String(20), default="pledged")
    attribution: Mapped[dict] = mapped_column(JSON, default=dict)
    # The pledge on the same trip whose share link brought this fan (domain/referrals.py).
    referred_by: Mapped[str | None] = mapped_column(ForeignKey("pledges.id", ondelete="SET NULL"))
    # Payment provider references: customer, saved card, setup, latest charge, refund.
    payment_method_ref: Mapped[str | None] = mapped_column(String(255))
    payment_customer_ref: Mapped[str | None] = mapped_column(String(255))
    payment_setup_ref: Mapped[str | None] = mapped_column(String(255))
    payment_intent_ref: Mapped[str | None] = mapped_column(String(255))
    refund_ref: Mapped[str | None] = mapped_column(String(255))
    charge_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_payment_error: Mapped[str | None] = mapped_column(String(500))
    grace_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when a paid pledge must be refunded (trip canceled, partner cancels); the refund job
    # and the sweep act on it until the pledge is refunded.
    refund_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the fan's personal data was erased (request or retention); the financial record
    # (amounts, statuses, provider ids) stays.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The claim of the one caller talking to the provider about this pledge (a charge or a
    # refund) lasts until then; see domain/pledges/claims.py.
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # After a temporary provider failure: no new try before then, and how many in a row.
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # `boarding_lookup(trip_id, id)`: a typed boarding code finds its pledge by this index.
    boarding_ref: Mapped[str | None] = mapped_column(String(7), default=_boarding_ref_default)
    # Paid before boarding codes were signed with their own derived key: the code the fan was
    # sent stays the code (signed with SECRET_KEY itself) until that trip has run.
    boarding_code_legacy: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    trip: Mapped[Trip] = relationship()
    stop: Mapped[Stop] = relationship()
    history: Mapped[list[PledgeStatusChange]] = relationship(
        back_populates="pledge", order_by="PledgeStatusChange.id", cascade="all, delete-orphan"
    )

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class PledgeStatusChange(Base):
    """One step in a pledge's history: from which status to which, why, and who did it."""

    __tablename__ = "pledge_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pledge_id: Mapped[str] = mapped_column(ForeignKey("pledges.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pledge: Mapped[Pledge] = relationship(back_populates="history")


_Referred = aliased(Pledge)
# Live pledges this pledge's share link brought (loaded only when asked for: `undefer` it in
# lists, where it costs one correlated subquery instead of a query per pledge).
Pledge.referrals = column_property(
    select(func.count(_Referred.id))
    .where(_Referred.referred_by == Pledge.id, _Referred.status.in_(LIVE_STATUSES))
    .correlate_except(_Referred)
    .scalar_subquery(),
    deferred=True,
)
