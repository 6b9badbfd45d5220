"""What the console shows about a trip before acting on it: who would be refunded how much if
it were canceled, and the trip's pledges found by name or email. Reads only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from widget_server.models import Pledge, Trip

SEARCH_LIMIT = 200


@dataclass(frozen=True)
class CancelPreview:
    """What trip_outcomes.cancel_trip would do right now."""

    refunds: int  # paid pledges, refunded in full
    refund_amount: int  # minor units, in `currency`
    released: int  # pledged or action_required: released, never charged
    charging: int  # being charged this instant; refunded if the charge succeeds
    currency: str

    @property
    def fans(self) -> int:
        return self.refunds + self.released + self.charging


def cancel_preview(session: Session, trip: Trip) -> CancelPreview:
    """Counts and the refund total of canceling `trip` now (the confirmation page says it)."""
    rows = session.execute(
        select(Pledge.status, func.count(), func.coalesce(func.sum(Pledge.amount), 0))
        .where(Pledge.trip_id == trip.id)
        .group_by(Pledge.status)
    ).all()
    counts = {status: (count, int(total)) for status, count, total in rows}
    paid, paid_total = counts.get("paid", (0, 0))
    return CancelPreview(
        refunds=paid,
        refund_amount=paid_total,
        released=counts.get("pledged", (0, 0))[0] + counts.get("action_required", (0, 0))[0],
        charging=counts.get("charging", (0, 0))[0],
        currency=trip.currency,
    )


def find_pledges(session: Session, trip: Trip, query: str | None = None) -> list[Pledge]:
    """The trip's pledges, newest first; with `query`, those whose name or email contains it
    (case-insensitive)."""
    statement = select(Pledge).where(Pledge.trip_id == trip.id)
    if query:
        pattern = (
            "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        statement = statement.where(
            or_(
                func.lower(Pledge.name).like(pattern, escape="\\"),
                func.lower(Pledge.email).like(pattern, escape="\\"),
            )
        )
    return list(session.scalars(statement.order_by(Pledge.id.desc()).limit(SEARCH_LIMIT)))
