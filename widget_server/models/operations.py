"""Leases for periodic work shared by every worker on every host."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from widget_server.db import Base
from widget_server.models.types import UTCDateTime


class PeriodicRun(Base):
    """The last run of a periodic task (the minute sweep, housekeeping). A worker runs the task
    for a period only if its conditional UPDATE moves `period_start` forward: exactly one of any
    number of workers wins each period (see widget_server/jobs/periodic.py)."""

    __tablename__ = "periodic_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    holder: Mapped[str | None] = mapped_column(String(120))
