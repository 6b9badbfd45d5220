"""Trip day: check-ins sent by the driver's devices, and the boarding of each pledge."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from widget_server.db import Base
from widget_server.models.types import UTCDateTime, utcnow

CHECKIN_RESULTS = ("ok", "already_boarded", "not_paid", "canceled", "other_trip", "unknown")


class CheckIn(Base):
    """One check-in as a device sent it, with the answer it got. `client_id` (a UUID the
    device made) is unique per trip: the same check-in sent again replays `response`."""

    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("trip_id", "client_id", name="uq_checkins_trip_client"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trip_id: Mapped[str] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    code: Mapped[str | None] = mapped_column(String(40))
    pledge_id: Mapped[str | None] = mapped_column(
        ForeignKey("pledges.id", ondelete="SET NULL"), index=True
    )
    device: Mapped[str] = mapped_column(String(60))
    # The id the phone made for itself (driver.js keeps it in localStorage); the name above
    # is the driver's to edit and may be the same on two phones.
    device_id: Mapped[str | None] = mapped_column(String(36))
    result: Mapped[str] = mapped_column(String(20))
    # When it happened on the device (maybe offline, long before it reached us).
    happened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    response: Mapped[dict] = mapped_column(JSON, default=dict)


class Boarding(Base):
    """A pledge on the bus: one row per pledge (its primary key), written by the first `ok`
    check-in. A later check-in of the same pledge from another device flags it instead of
    failing: two offline phones both let the fan on, and the partner should know."""

    __tablename__ = "boardings"

    pledge_id: Mapped[str] = mapped_column(
        ForeignKey("pledges.id", ondelete="CASCADE"), primary_key=True
    )
    trip_id: Mapped[str] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"), index=True)
    boarded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    device: Mapped[str] = mapped_column(String(60))
    device_id: Mapped[str | None] = mapped_column(String(36))
    checkin_client_id: Mapped[str] = mapped_column(String(64))
    double_boarded: Mapped[bool] = mapped_column(Boolean, default=False)
    second_device: Mapped[str | None] = mapped_column(String(60))
    second_boarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StopDeparture(Base):
    """A stop on the day: the driver's one "ready to leave" message to its riders not yet
    boarded (`called_at`), and the bus leaving it (`departed_at`, the device's time). One row
    per stop (its primary key), claimed by INSERT .. ON CONFLICT DO NOTHING like a boarding;
    each half is set once by a conditional UPDATE (domain/departures.py)."""

    __tablename__ = "stop_departures"

    stop_id: Mapped[str] = mapped_column(
        ForeignKey("stops.id", ondelete="CASCADE"), primary_key=True
    )
    trip_id: Mapped[str] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"), index=True)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    called_by: Mapped[str | None] = mapped_column(String(60))
    # The driver's own words when they changed the prefilled message; None: each rider got
    # the prefilled message in their own language.
    call_message: Mapped[str | None] = mapped_column(String(500))
    call_recipients: Mapped[int] = mapped_column(Integer, default=0)
    departed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    departed_by: Mapped[str | None] = mapped_column(String(60))
    # The id the device made for the departure: the same one sent again replays the answer.
    departure_client_id: Mapped[str | None] = mapped_column(String(64))
