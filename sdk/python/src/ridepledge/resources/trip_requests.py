"""`client.trip_requests`: asking bus companies for a bus, their quotes, the award."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Unpack

from ridepledge.models import Award, OriginParams, TripRequest
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
        operators: list[str] | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Call[TripRequest]:
        """Ask operators for a bus (scope `trips:write`): `operators` (slugs) or, left out,
        every operator serving `origin["region"]`. `vehicle_kind`: coach, school_bus, minibus
        or van."""
        body = {
            "event_id": event_id,
            "origin": origin,
            "departs_at": departs_at,
            "expected_riders": expected_riders,
            "vehicle_kind": vehicle_kind,
        }
        if operators is not None:
            body["operators"] = operators
        return Call(
            returns(TripRequest), body=body, idempotency_key=idempotency_key, options=options
        )

    @endpoint("GET", "/v1/trip_requests/{trip_request_id}")
    def retrieve(self, trip_request_id: str, **options: Unpack[CallOptions]) -> Call[TripRequest]:
        """One request with its quotes and each operator's compliance (scope `trips:read`)."""
        return Call(returns(TripRequest), {"trip_request_id": trip_request_id}, options=options)

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
        """Award a quote (scope `trips:write`): `Award.trip` is the draft trip, its capacity
        the quote's seats, `min_riders` ceil(amount / unit_amount) unless given. An expired
        quote or a non-compliant operator is a `ConflictError`."""
        body: dict[str, Any] = {"quote_id": quote_id, "unit_amount": unit_amount}
        if min_riders is not None:
            body["min_riders"] = min_riders
        return Call(
            returns(Award),
            {"trip_request_id": trip_request_id},
            body=body,
            idempotency_key=idempotency_key,
            options=options,
        )

    @listing("/v1/trip_requests")
    def list(
        self, *, limit: int | None = None, cursor: str | None = None, **options: Unpack[CallOptions]
    ) -> Listing[TripRequest]:
        """Every request, newest first, with its quotes."""
        return Listing(TripRequest, {"limit": limit, "cursor": cursor}, options=options)
