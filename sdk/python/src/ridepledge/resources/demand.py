"""`client.demand`: where fans ask for trips that do not exist yet."""

from __future__ import annotations

from typing import Unpack

from ridepledge.models import Demand
from ridepledge.resources._base import CallOptions, Listing, R, Resource, listing


class DemandResource(Resource[R]):
    @listing("/v1/demand")
    def list(
        self,
        *,
        event_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Listing[Demand]:
        """Requests per event and origin, most asked first (`count` distinct fans)."""
        params = {"event_id": event_id, "limit": limit, "cursor": cursor}
        return Listing(Demand, params, options=options)
