"""`client.pledges`: fans' seats on trips (fans pledge through the widget)."""

from __future__ import annotations

from typing import Unpack

from ridepledge.models import Pledge
from ridepledge.resources._base import (
    Call,
    CallOptions,
    Listing,
    R,
    Resource,
    endpoint,
    listing,
    returns,
)


class Pledges(Resource[R]):
    @endpoint("GET", "/v1/pledges/{pledge_id}")
    def retrieve(self, pledge_id: str, **options: Unpack[CallOptions]) -> Call[Pledge]:
        """One pledge (scope `pledges:read`), with its boarding code and referrals."""
        return Call(returns(Pledge), {"pledge_id": pledge_id}, options=options)

    @endpoint("POST", "/v1/pledges/{pledge_id}/cancel")
    def cancel(
        self,
        pledge_id: str,
        *,
        idempotency_key: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Call[Pledge]:
        """Cancel a pledge (scope `pledges:write`): unpaid ones become ``canceled``, paid ones
        are refunded in full."""
        path = {"pledge_id": pledge_id}
        return Call(returns(Pledge), path, idempotency_key=idempotency_key, options=options)

    @listing("/v1/pledges")
    def list(
        self,
        *,
        trip_id: str | None = None,
        status: str | None = None,
        referred_by: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Listing[Pledge]:
        """Pledges, newest first, optionally of one trip, in one status and/or brought by the
        share link of the pledge `referred_by`."""
        params = {
            "trip_id": trip_id,
            "status": status,
            "referred_by": referred_by,
            "limit": limit,
            "cursor": cursor,
        }
        return Listing(Pledge, params, options=options)
