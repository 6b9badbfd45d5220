"""Add-ons: extras a trip sells with its seats (a tailgate pass, a scarf). A pledge's add-on
lines are locked in its price breakdown (`Pledge.price_breakdown["add_ons"]`: the add-on id as
`key`, name, unit amount and quantity as the fan bought them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.trips import Trip
from widget_server.models.types import UTCDateTime, utcnow

# Units of one add-on one pledge may take (a form's select offers 0..this).
MAX_ADD_ON_UNITS = 10


class AddOn(Base):
    """One extra on sale with a trip's seats. `quantity` None: unlimited. `sold` counts the
    units held by live pledges; it changes only by the conditional UPDATEs of
    `domain/pricing/add_ons.py`, and the check constraint keeps it within `quantity`."""

    __tablename__ = "add_ons"
    __table_args__ = (
        CheckConstraint(
            "sold >= 0 AND (quantity IS NULL OR sold <= quantity)", name="sold_in_range"
        ),
        CheckConstraint("unit_amount >= 0", name="unit_amount_non_negative"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("addon"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    trip_id: Mapped[str] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    unit_amount: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int | None] = mapped_column(Integer)
    sold: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    trip: Mapped[Trip] = relationship()

    @property
    def remaining(self) -> int | None:
        """Units still on sale; None when unlimited."""
        return None if self.quantity is None else max(self.quantity - self.sold, 0)


# A trip's add-ons in the order they were made (ids are time-ordered); declared here, as the
# add-on aggregate owns the link.
Trip.add_ons = relationship(AddOn, order_by=AddOn.id, viewonly=True)
