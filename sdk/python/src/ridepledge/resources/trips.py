"""`client.trips`: buses to an event, created with their stops, opened, canceled."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ridepledge.models import (
    DriverLink,
    Manifest,
    OperatorParams,
    OriginParams,
    StopParams,
    StopRequest,
    Trip,
    WaitlistEntry,
    from_api,
)
from ridepledge.pagination import Pager
from ridepledge.resources._base import NOT_GIVEN, NotGiven, Resource, given, segment


class Trips(Resource):
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
        idempotency_key: str | None = None,
    ) -> Trip:
        """Create a trip with its stops (scope `trips:write`). It starts as ``draft``; fans see
        it once you `open` it. `unit_amount` is one seat's price in minor units of `currency`
        (default: the partner's currency); the trip runs if `min_riders` seats are pledged by
        `pledge_deadline`."""
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
        }
        return self._post("/v1/trips", Trip, body, idempotency_key)

    def retrieve(self, trip_id: str) -> Trip:
        return self._get(f"/v1/trips/{segment(trip_id)}", Trip)

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
    ) -> Trip:
        """Change a trip. Drafts change freely; open trips only `operator`, `capacity` and
        `pledge_deadline`; confirmed ones only `operator` and `capacity` (else
        `ConflictError`)."""
        body = given(
            origin=origin,
            stops=stops if isinstance(stops, NotGiven) else [*stops],
            capacity=capacity,
            min_riders=min_riders,
            unit_amount=unit_amount,
            currency=currency,
            pledge_deadline=pledge_deadline,
            operator=operator,
        )
        return self._patch(f"/v1/trips/{segment(trip_id)}", Trip, body)

    def open(self, trip_id: str, *, idempotency_key: str | None = None) -> Trip:
        """Open a draft to pledges (``ConflictError`` ``illegal-transition`` if not a draft)."""
        return self._post(f"/v1/trips/{segment(trip_id)}/open", Trip, None, idempotency_key)

    def cancel(self, trip_id: str, *, idempotency_key: str | None = None) -> Trip:
        """Cancel a trip: unpaid pledges are released, paid ones refunded."""
        return self._post(f"/v1/trips/{segment(trip_id)}/cancel", Trip, None, idempotency_key)

    def manifest(self, trip_id: str) -> Manifest:
        """Who boards where; `.rows()` flattens it to one row per rider."""
        return self._get(f"/v1/trips/{segment(trip_id)}/manifest", Manifest)

    def create_driver_link(self, trip_id: str, *, idempotency_key: str | None = None) -> DriverLink:
        """Issue the driver's check-in link (scope `trips:write`); any older link stops
        working. Send `url` to the bus operator: it needs no account."""
        path = f"/v1/trips/{segment(trip_id)}/driver_link"
        return self._post(path, DriverLink, None, idempotency_key)

    def stop_requests(self, trip_id: str) -> list[StopRequest]:
        """Pick-up stops fans asked for on the trip, one per place, most asked first (scope
        `trips:read`)."""
        body = self._request("GET", f"/v1/trips/{segment(trip_id)}/stop_requests").json()
        return [from_api(StopRequest, item) for item in body["data"]]

    def waitlist(self, trip_id: str) -> list[WaitlistEntry]:
        """The trip's waitlist in order of joining (scope `trips:read`)."""
        body = self._request("GET", f"/v1/trips/{segment(trip_id)}/waitlist").json()
        return [from_api(WaitlistEntry, item) for item in body["data"]]

    def add_stop(
        self,
        trip_id: str,
        *,
        name: str,
        address: str,
        departs_at: datetime,
        idempotency_key: str | None = None,
    ) -> Trip:
        """Add a pick-up stop to an open or confirmed trip (scope `trips:write`). Fans who
        asked for this place (`stop_requests`) and have a live pledge are emailed and can move
        their pledge to it."""
        body = {"name": name, "address": address, "departs_at": departs_at}
        return self._post(f"/v1/trips/{segment(trip_id)}/stops", Trip, body, idempotency_key)

    def revoke_driver_link(self, trip_id: str) -> None:
        """End every driver link of the trip without issuing a new one."""
        self._delete(f"/v1/trips/{segment(trip_id)}/driver_link")

    def manifest_csv(self, trip_id: str) -> str:
        """The manifest as the server's CSV: a header row, then one row per rider
        (stop, departs_at, pledge_id, name, phone, email, seats, status)."""
        response = self._request("GET", f"/v1/trips/{segment(trip_id)}/manifest", accept="text/csv")
        response.encoding = response.encoding or "utf-8"
        return response.text

    def list(
        self,
        *,
        event_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Pager[Trip]:
        """Trips, newest first, optionally of one event and/or in one status."""
        return self._list(
            "/v1/trips", Trip, event_id=event_id, status=status, limit=limit, cursor=cursor
        )
