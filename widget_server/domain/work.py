"""Work to do after the current transaction commits (jobs), recorded on the session.

Domain code calls `schedule(session, "charge_pledge", pledge_id)`; the edge that commits hands
the list to the job queue once the commit succeeded, so a job never sees uncommitted data and a
rolled-back change enqueues nothing. Every such job is also found by the periodic sweep, so a
lost enqueue only delays the work.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

_KEY = "ridepledge.after_commit"


def schedule(session: Session, task: str, *args: str) -> None:
    """Run `task(*args)` as a job once the session commits."""
    pending = session.info.setdefault(_KEY, [])
    if (task, args) not in pending:
        pending.append((task, args))


def unschedule(session: Session, task: str, *args: str) -> None:
    """Take back `task(*args)` scheduled earlier in this transaction (nothing ran yet)."""
    pending = session.info.get(_KEY, [])
    if (task, args) in pending:
        pending.remove((task, args))


def take_scheduled(session: Session) -> list[tuple[str, tuple]]:
    """The jobs scheduled so far, removed from the session."""
    return session.info.pop(_KEY, [])


def discard_scheduled(session: Session) -> None:
    session.info.pop(_KEY, None)
