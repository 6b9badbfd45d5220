"""`client.pledges`: fans' seats on trips (fans pledge through the widget)."""

from __future__ import annotations

from ridepledge.models import Pledge
from ridepledge.pagination import Pager
from ridepledge.resources._base import Resource, segment


class Pledges(Resource):
    def retrieve(self, pledge_id: str) -> Pledge:
        return self._get(f"/v1/pledges/{segment(pledge_id)}", Pledge)

    def cancel(self, pledge_id: str, *, idempotency_key: str | None = None) -> Pledge:
        """Cancel a pledge (scope `pledges:write`): unpaid ones become ``canceled``, paid ones
        are refunded in full."""
        return self._post(f"/v1/pledges/{segment(pledge_id)}/cancel", Pledge, None, idempotency_key)

    def list(
        self,
        *,
        trip_id: str | None = None,
        status: str | None = None,
        referred_by: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Pager[Pledge]:
        """Pledges, newest first, optionally of one trip, in one status and/or brought by the
        share link of the pledge `referred_by`."""
        return self._list(
            "/v1/pledges",
            Pledge,
            trip_id=trip_id,
            status=status,
            referred_by=referred_by,
            limit=limit,
            cursor=cursor,
        )
