"""Work to do after the current transaction commits (jobs), recorded on the session.

Domain code calls `schedule(session, "charge_pledge", pledge_id)`; the edge that commits
(`db.Database.transaction`) hands the list to the job queue once the commit succeeded, so a job
never sees uncommitted data and a rolled-back change enqueues nothing. Every such job is also
found by the periodic sweep, so a lost enqueue only delays the work. The bookkeeping belongs to
the session, so it lives in `db.py`; the domain reads it from there.
"""

from __future__ import annotations

from widget_server.db import discard_scheduled, take_scheduled
from widget_server.db import schedule_after_commit as schedule
from widget_server.db import unschedule_after_commit as unschedule

__all__ = ["discard_scheduled", "schedule", "take_scheduled", "unschedule"]
