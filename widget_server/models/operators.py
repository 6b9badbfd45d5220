"""Bus companies (operators): the company, its fleet of vehicles and its drivers. An operator
works for any number of partners; its team are `AdminUser`s with `operator_id` set."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from widget_server.db import Base
from widget_server.ids import new_id
from widget_server.models.types import UTCDateTime, utcnow

#: The roles of an operator's team (the console's roles are `ADMIN_ROLES`): the owner runs the
#: team and the profile, a dispatcher runs the fleet, drivers, quotes and trips, a viewer reads.
OPERATOR_ROLES = ("owner", "dispatcher", "viewer")

#: A vehicle's kind, as trip requests and quotes name it.
VEHICLE_KINDS = ("coach", "school_bus", "minibus", "van")

MAX_VEHICLE_SEATS = 100


class Operator(Base):
    """One bus company. `regions` are upper-case region codes (["KS", "MO"]): the requests of
    those regions are sent to it by default."""

    __tablename__ = "operators"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("op"))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    legal_name: Mapped[str | None] = mapped_column(String(200))
    usdot_number: Mapped[str | None] = mapped_column(String(16))
    insurance_expires_on: Mapped[date | None] = mapped_column(Date)
    regions: Mapped[list] = mapped_column(JSON, default=list)
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    # The Stripe Connect account payouts are transferred to.
    stripe_account_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Vehicle(Base):
    """A bus of an operator's fleet. Never deleted (trips name it): deactivated instead."""

    __tablename__ = "vehicles"
    __table_args__ = (
        CheckConstraint(f"seats >= 1 AND seats <= {MAX_VEHICLE_SEATS}", name="seats_in_range"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("veh"))
    operator_id: Mapped[str] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    seats: Mapped[int] = mapped_column(Integer)
    plate: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OperatorDriver(Base):
    """A driver of an operator: who gets a trip's check-in link. Removing one leaves the trips
    it drove without a driver (`trips.driver_id` is set to NULL)."""

    __tablename__ = "operator_drivers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("drv"))
    operator_id: Mapped[str] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
