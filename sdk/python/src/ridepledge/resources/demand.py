"""`client.demand`: where fans ask for trips that do not exist yet."""

from __future__ import annotations

from ridepledge.models import Demand
from ridepledge.pagination import Pager
from ridepledge.resources._base import Resource


class DemandResource(Resource):
    def list(
        self, *, event_id: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Pager[Demand]:
        """Requests per event and origin, most asked first (`count` distinct fans)."""
        return self._list("/v1/demand", Demand, event_id=event_id, limit=limit, cursor=cursor)
