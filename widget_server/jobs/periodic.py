"""Periodic work that must run once per period across every worker on every host.

huey's periodic scheduler runs in each consumer, so with three workers on two hosts the minute
sweep would be queued six times a minute. Each of those runs first takes the period's lease in
PostgreSQL (or SQLite): a conditional UPDATE that only moves `periodic_runs.period_start`
forward. The database serialises the UPDATEs, so exactly one run wins each period; the others
return at once. No clock needs to agree beyond the minute, and a worker that dies mid-sweep
only costs that minute: the next period is claimed afresh.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from widget_server.extensions import db
from widget_server.models import PeriodicRun
from widget_server.models.types import utcnow

log = logging.getLogger(__name__)
HOLDER = f"{socket.gethostname()}:{os.getpid()}"[:120]


def period_start(now: datetime, seconds: int) -> datetime:
    """The start of the period of `seconds` that `now` falls in (UTC, aligned to the epoch)."""
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, now.tzinfo)


def claim_period(session: Session, name: str, start: datetime, now: datetime) -> bool:
    """Take the lease of `name` for the period starting at `start`; False if another run has it
    (or a later one). Flushes; the caller commits at once so others see it."""
    moved = session.execute(
        update(PeriodicRun)
        .where(PeriodicRun.name == name, PeriodicRun.period_start < start)
        .values(period_start=start, started_at=now, finished_at=None, holder=HOLDER)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount == 1:
        return True
    if session.get(PeriodicRun, name) is not None:
        return False
    # The first run ever: if another worker inserts the row at the same moment, the primary
    # key makes this flush (and so this claim) fail with IntegrityError.
    session.add(PeriodicRun(name=name, period_start=start, started_at=now, holder=HOLDER))
    session.flush()
    return True


def run_once_per_period(name: str, seconds: int, work: Callable[[], dict]) -> dict | None:
    """Run `work` if this process wins the current period's lease; returns its result, or None
    when another worker has (or had) this period."""
    now = utcnow()
    try:
        with db.transaction() as session:
            won = claim_period(session, name, period_start(now, seconds), now)
    except IntegrityError:
        won = False  # another worker created the lease row, and so holds this period, first
    if not won:
        return None
    try:
        return work()
    finally:
        with db.transaction() as session:
            session.execute(
                update(PeriodicRun)
                .where(PeriodicRun.name == name, PeriodicRun.holder == HOLDER)
                .values(finished_at=utcnow())
                .execution_options(synchronize_session=False)
            )


def last_run(session: Session, name: str) -> PeriodicRun | None:
    return session.scalar(select(PeriodicRun).where(PeriodicRun.name == name))


def seconds_since_start(session: Session, name: str, now: datetime | None = None) -> float | None:
    """How long ago the last run of `name` started; None if it never ran."""
    run = last_run(session, name)
    if run is None:
        return None
    return ((now or utcnow()) - run.started_at) / timedelta(seconds=1)
