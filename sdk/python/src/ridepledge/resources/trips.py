"""`client.trips`: buses to an event, created with their stops, opened, canceled; their
manifests, driver links, stop requests and waitlists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Unpack

from ridepledge.models import (
    DriverLink,
    GroupTierParams,
    Manifest,
    OperatorParams,
    OriginParams,
    PriceStepParams,
    SponsorParams,
    StopParams,
    StopRequest,
    Trip,
    WaitlistEntry,
)
from ridepledge.resources._base import (
    NOT_GIVEN,
    Call,
    CallOptions,
    Listing,
    NotGiven,
    R,
    Resource,
    endpoint,
    given,
    listed,
    listing,
    returns,
    returns_items,
    returns_nothing,
    returns_text,
)


class Trips(Resource[R]):
    @endpoint("POST", "/v1/trips")
    def create(
        self,
        *,
        event_id: str,
        origin: OriginParams,
        stops: Sequence[StopParams],
        capacity: int,
        min_riders: int,
        unit_amount: int,
        pledge_deadline: datetime,
        currency: str | None = None,
        operator: OperatorParams | None = None,
        sponsor: SponsorParams | None = None,
        price_steps: Sequence[PriceStepParams] = (),
        group_tiers: Sequence[GroupTierParams] | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Call[Trip]:
        """Create a trip with its stops (scope `trips:write`). It starts as ``draft``; fans see
        it once you `open` it. `unit_amount` is one seat's price in minor units of `currency`
        (default: the partner's currency); the trip runs if `min_riders` seats are pledged by
        `pledge_deadline`. `price_steps` raise the price on dates (early birds pay less);
        `group_tiers` take a percentage off bigger pledges (None: the event's tiers)."""
        body = {
            "event_id": event_id,
            "origin": origin,
            "stops": list(stops),
            "capacity": capacity,
            "min_riders": min_riders,
            "unit_amount": unit_amount,
            "pledge_deadline": pledge_deadline,
            "currency": currency,
            "operator": operator,
            "sponsor": sponsor,
            "price_steps": list(price_steps),
            "group_tiers": None if group_tiers is None else list(group_tiers),
        }
        return Call(returns(Trip), body=body, idempotency_key=idempotency_key, options=options)

    @endpoint("GET", "/v1/trips/{trip_id}")
    def retrieve(self, trip_id: str, **options: Unpack[CallOptions]) -> Call[Trip]:
        """One trip with its stops (scope `trips:read`)."""
        return Call(returns(Trip), {"trip_id": trip_id}, options=options)

    @endpoint("PATCH", "/v1/trips/{trip_id}")
    def update(
        self,
        trip_id: str,
        *,
        origin: OriginParams | NotGiven = NOT_GIVEN,
        stops: Sequence[StopParams] | NotGiven = NOT_GIVEN,
        capacity: int | NotGiven = NOT_GIVEN,
        min_riders: int | NotGiven = NOT_GIVEN,
        unit_amount: int | NotGiven = NOT_GIVEN,
        currency: str | NotGiven = NOT_GIVEN,
        pledge_deadline: datetime | NotGiven = NOT_GIVEN,
        operator: OperatorParams | None | NotGiven = NOT_GIVEN,
        sponsor: SponsorParams | None | NotGiven = NOT_GIVEN,
        price_steps: Sequence[PriceStepParams] | NotGiven = NOT_GIVEN,
        group_tiers: Sequence[GroupTierParams] | None | NotGiven = NOT_GIVEN,
        **options: Unpack[CallOptions],
    ) -> Call[Trip]:
        """Change a trip. Drafts change freely; open trips only `operator`, `capacity`,
        `pledge_deadline`, `price_steps` and `group_tiers`; confirmed ones only `operator`,
        `capacity` and the prices (else `ConflictError`). Pledges keep their price."""
        body = given(
            origin=origin,
            stops=listed(stops),
            capacity=capacity,
            min_riders=min_riders,
            unit_amount=unit_amount,
            currency=currency,
            pledge_deadline=pledge_deadline,
            operator=operator,
            sponsor=sponsor,
            price_steps=listed(price_steps),
            group_tiers=group_tiers if group_tiers is None else listed(group_tiers),
        )
        return Call(returns(Trip), {"trip_id": trip_id}, body=body, options=options)

    @endpoint("POST", "/v1/trips/{trip_id}/open")
    def open(
        self, trip_id: str, *, idempotency_key: str | None = None, **options: Unpack[CallOptions]
    ) -> Call[Trip]:
        """Open a draft to pledges (``ConflictError`` ``illegal-transition`` if not a draft)."""
        path = {"trip_id": trip_id}
        return Call(returns(Trip), path, idempotency_key=idempotency_key, options=options)

    @endpoint("POST", "/v1/trips/{trip_id}/cancel")
    def cancel(
        self, trip_id: str, *, idempotency_key: str | None = None, **options: Unpack[CallOptions]
    ) -> Call[Trip]:
        """Cancel a trip: unpaid pledges are released, paid ones refunded."""
        path = {"trip_id": trip_id}
        return Call(returns(Trip), path, idempotency_key=idempotency_key, options=options)

    @endpoint("GET", "/v1/trips/{trip_id}/manifest")
    def manifest(self, trip_id: str, **options: Unpack[CallOptions]) -> Call[Manifest]:
        """Who boards where; `.rows()` flattens it to one row per rider."""
        return Call(returns(Manifest), {"trip_id": trip_id}, options=options)

    @endpoint("GET", "/v1/trips/{trip_id}/manifest")
    def manifest_csv(self, trip_id: str, **options: Unpack[CallOptions]) -> Call[str]:
        """The manifest as the server's CSV: a header row, then one row per rider
        (stop, departs_at, pledge_id, name, phone, email, seats, status)."""
        return Call(returns_text, {"trip_id": trip_id}, accept="text/csv", options=options)

    @endpoint("POST", "/v1/trips/{trip_id}/driver_link")
    def create_driver_link(
        self, trip_id: str, *, idempotency_key: str | None = None, **options: Unpack[CallOptions]
    ) -> Call[DriverLink]:
        """Issue the driver's check-in link (scope `trips:write`); any older link stops
        working. Send `url` to the bus operator: it needs no account."""
        path = {"trip_id": trip_id}
        return Call(returns(DriverLink), path, idempotency_key=idempotency_key, options=options)

    @endpoint("DELETE", "/v1/trips/{trip_id}/driver_link")
    def revoke_driver_link(self, trip_id: str, **options: Unpack[CallOptions]) -> Call[None]:
        """End every driver link of the trip without issuing a new one."""
        return Call(returns_nothing, {"trip_id": trip_id}, options=options)

    @endpoint("GET", "/v1/trips/{trip_id}/stop_requests")
    def stop_requests(
        self, trip_id: str, **options: Unpack[CallOptions]
    ) -> Call[list[StopRequest]]:
        """Pick-up stops fans asked for on the trip, one per place, most asked first (scope
        `trips:read`)."""
        return Call(returns_items(StopRequest), {"trip_id": trip_id}, options=options)

    @endpoint("POST", "/v1/trips/{trip_id}/stops")
    def add_stop(
        self,
        trip_id: str,
        *,
        name: str,
        address: str,
        departs_at: datetime,
        idempotency_key: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Call[Trip]:
        """Add a pick-up stop to an open or confirmed trip (scope `trips:write`). Fans who
        asked for this place (`stop_requests`) and have a live pledge are emailed and can move
        their pledge to it."""
        body = {"name": name, "address": address, "departs_at": departs_at}
        path = {"trip_id": trip_id}
        return Call(
            returns(Trip), path, body=body, idempotency_key=idempotency_key, options=options
        )

    @endpoint("GET", "/v1/trips/{trip_id}/waitlist")
    def waitlist(self, trip_id: str, **options: Unpack[CallOptions]) -> Call[list[WaitlistEntry]]:
        """The trip's waitlist in order of joining (scope `trips:read`)."""
        return Call(returns_items(WaitlistEntry), {"trip_id": trip_id}, options=options)

    @listing("/v1/trips")
    def list(
        self,
        *,
        event_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Listing[Trip]:
        """Trips, newest first, optionally of one event and/or in one status."""
        params = {"event_id": event_id, "status": status, "limit": limit, "cursor": cursor}
        return Listing(Trip, params, options=options)
