"""`client.trip_requests`: a partner asks bus companies for a bus, compares their quotes and
awards one, which creates the trip."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Unpack

from ridepledge.marketplace import Award, TripRequest
from ridepledge.models import OriginParams
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


class TripRequests(Resource[R]):
    @endpoint("POST", "/v1/trip_requests")
    def create(
        self,
        *,
        event_id: str,
        origin: OriginParams,
        departs_at: datetime,
        expected_riders: int,
        vehicle_kind: str,
        operators: Sequence[str] | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Call[TripRequest]:
        """Ask bus companies for a bus (scope `trips:write`): `operators` are their slugs
        (default: every operator serving the origin's region). It starts ``open``."""
        body = {
            "event_id": event_id,
            "origin": origin,
            "departs_at": departs_at,
            "expected_riders": expected_riders,
            "vehicle_kind": vehicle_kind,
        }
        if operators is not None:
            body["operators"] = list(operators)
        return Call(
            returns(TripRequest), body=body, idempotency_key=idempotency_key, options=options
        )

    @endpoint("GET", "/v1/trip_requests/{trip_request_id}")
    def retrieve(self, trip_request_id: str, **options: Unpack[CallOptions]) -> Call[TripRequest]:
        """One request with its `quotes` side by side (scope `trips:read`)."""
        return Call(returns(TripRequest), {"trip_request_id": trip_request_id}, options=options)

    @listing("/v1/trip_requests")
    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Listing[TripRequest]:
        """Your requests, newest first, each with its quotes (scope `trips:read`)."""
        return Listing(TripRequest, {"limit": limit, "cursor": cursor}, options=options)

    @endpoint("POST", "/v1/trip_requests/{trip_request_id}/award")
    def award(
        self,
        trip_request_id: str,
        *,
        quote_id: str,
        unit_amount: int,
        min_riders: int | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Call[Award]:
        """Award a quote (scope `trips:write`): `Award.trip` is the new ``draft`` trip, its capacity
        the quote's seats and `min_riders` the break-even threshold (the quote divided by
        `unit_amount`, rounded up) unless you give one. ``ConflictError`` when the quote
        expired or the operator's insurance ends before the event."""
        body: dict[str, object] = {"quote_id": quote_id, "unit_amount": unit_amount}
        if min_riders is not None:
            body["min_riders"] = min_riders
        path = {"trip_request_id": trip_request_id}
        return Call(
            returns(Award), path, body=body, idempotency_key=idempotency_key, options=options
        )
