"""The operator API (`/v1/operator`) of `ridepledge.OperatorClient`: a bus company's requests
to quote, its quotes, its trips across partners and its payouts."""

from __future__ import annotations

from datetime import datetime
from typing import Unpack

from ridepledge.marketplace import (
    Assignment,
    OperatorManifest,
    OperatorProfile,
    OperatorTrip,
    Payout,
    Quote,
    TripRequest,
)
from ridepledge.models import DriverLink
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
    listing,
    returns,
)


def _page(limit: int | None, cursor: str | None) -> dict[str, int | str | None]:
    return {"limit": limit, "cursor": cursor}


class Profile(Resource[R]):
    @endpoint("GET", "/v1/operator/profile")
    def retrieve(self, **options: Unpack[CallOptions]) -> Call[OperatorProfile]:
        """Your company's profile and compliance (any operator scope)."""
        return Call(returns(OperatorProfile), options=options)


class OperatorTripRequests(Resource[R]):
    @listing("/v1/operator/trip_requests")
    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Listing[TripRequest]:
        """Open requests sent to you, newest first (scope `requests:read`)."""
        return Listing(TripRequest, _page(limit, cursor), options=options)

    @endpoint("GET", "/v1/operator/trip_requests/{trip_request_id}")
    def retrieve(self, trip_request_id: str, **options: Unpack[CallOptions]) -> Call[TripRequest]:
        """One request sent to you (scope `requests:read`); another's is ``NotFoundError``."""
        return Call(returns(TripRequest), {"trip_request_id": trip_request_id}, options=options)


class OperatorQuotes(Resource[R]):
    @endpoint("POST", "/v1/operator/trip_requests/{trip_request_id}/quotes")
    def create(
        self,
        trip_request_id: str,
        *,
        amount: int,
        currency: str,
        valid_until: datetime,
        seats: int | None = None,
        vehicle_kind: str | None = None,
        vehicle_id: str | None = None,
        notes: str | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Call[Quote]:
        """Quote a request (scope `quotes:write`): `amount` for the whole bus, in minor units
        of `currency`; `seats` default to those of your vehicle `vehicle_id`."""
        optional = {
            "seats": seats,
            "vehicle_kind": vehicle_kind,
            "vehicle_id": vehicle_id,
            "notes": notes,
        }
        body = {
            "amount": amount,
            "currency": currency,
            "valid_until": valid_until,
            **{name: value for name, value in optional.items() if value is not None},
        }
        path = {"trip_request_id": trip_request_id}
        return Call(
            returns(Quote), path, body=body, idempotency_key=idempotency_key, options=options
        )

    @endpoint("GET", "/v1/operator/quotes/{quote_id}")
    def retrieve(self, quote_id: str, **options: Unpack[CallOptions]) -> Call[Quote]:
        """One of your quotes (scope `requests:read`)."""
        return Call(returns(Quote), {"quote_id": quote_id}, options=options)

    @listing("/v1/operator/quotes")
    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Listing[Quote]:
        """Your quotes, newest first (scope `requests:read`)."""
        return Listing(Quote, _page(limit, cursor), options=options)

    @endpoint("PATCH", "/v1/operator/quotes/{quote_id}")
    def update(
        self,
        quote_id: str,
        *,
        seats: int | NotGiven = NOT_GIVEN,
        amount: int | NotGiven = NOT_GIVEN,
        currency: str | NotGiven = NOT_GIVEN,
        valid_until: datetime | NotGiven = NOT_GIVEN,
        vehicle_kind: str | NotGiven = NOT_GIVEN,
        vehicle_id: str | None | NotGiven = NOT_GIVEN,
        notes: str | None | NotGiven = NOT_GIVEN,
        **options: Unpack[CallOptions],
    ) -> Call[Quote]:
        """Revise an open quote until the partner awards (scope `quotes:write`)."""
        body = given(
            seats=seats,
            amount=amount,
            currency=currency,
            valid_until=valid_until,
            vehicle_kind=vehicle_kind,
            vehicle_id=vehicle_id,
            notes=notes,
        )
        return Call(returns(Quote), {"quote_id": quote_id}, body=body, options=options)

    @endpoint("POST", "/v1/operator/quotes/{quote_id}/withdraw")
    def withdraw(
        self, quote_id: str, *, idempotency_key: str | None = None, **options: Unpack[CallOptions]
    ) -> Call[Quote]:
        """Withdraw an open quote (scope `quotes:write`); to give back a trip you were awarded,
        use `trips.withdraw`."""
        path = {"quote_id": quote_id}
        return Call(returns(Quote), path, idempotency_key=idempotency_key, options=options)


class OperatorTrips(Resource[R]):
    @listing("/v1/operator/trips")
    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Listing[OperatorTrip]:
        """Trips awarded to you, every partner's, newest first (scope `operator_trips:read`)."""
        return Listing(OperatorTrip, _page(limit, cursor), options=options)

    @endpoint("GET", "/v1/operator/trips/{trip_id}")
    def retrieve(self, trip_id: str, **options: Unpack[CallOptions]) -> Call[OperatorTrip]:
        """One of your trips (scope `operator_trips:read`)."""
        return Call(returns(OperatorTrip), {"trip_id": trip_id}, options=options)

    @endpoint("GET", "/v1/operator/trips/{trip_id}/manifest")
    def manifest(self, trip_id: str, **options: Unpack[CallOptions]) -> Call[OperatorManifest]:
        """Who boards where (scope `operator_trips:read`): names, seats, may board, boarding
        codes; no email, phone or payment."""
        return Call(returns(OperatorManifest), {"trip_id": trip_id}, options=options)

    @endpoint("POST", "/v1/operator/trips/{trip_id}/assignment")
    def assign(
        self,
        trip_id: str,
        *,
        vehicle_id: str | None = None,
        driver_id: str | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Call[Assignment]:
        """Put one of your vehicles and/or drivers on the trip (scope `operator_trips:write`);
        a newly assigned driver is emailed the check-in link."""
        body = {"vehicle_id": vehicle_id, "driver_id": driver_id}
        path = {"trip_id": trip_id}
        return Call(
            returns(Assignment), path, body=body, idempotency_key=idempotency_key, options=options
        )

    @endpoint("POST", "/v1/operator/trips/{trip_id}/driver_link")
    def create_driver_link(
        self, trip_id: str, *, idempotency_key: str | None = None, **options: Unpack[CallOptions]
    ) -> Call[DriverLink]:
        """Issue the trip's check-in link again (the old one ends), emailed to its driver."""
        path = {"trip_id": trip_id}
        return Call(returns(DriverLink), path, idempotency_key=idempotency_key, options=options)

    @endpoint("POST", "/v1/operator/trips/{trip_id}/withdraw")
    def withdraw(
        self, trip_id: str, *, idempotency_key: str | None = None, **options: Unpack[CallOptions]
    ) -> Call[Quote]:
        """Give back a trip you were awarded (scope `operator_trips:write`): the partner is alerted,
        the request reopens for quotes, and you are owed nothing for it. Returns your quote."""
        path = {"trip_id": trip_id}
        return Call(returns(Quote), path, idempotency_key=idempotency_key, options=options)


class Payouts(Resource[R]):
    @listing("/v1/operator/payouts")
    def list(
        self,
        *,
        trip_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Listing[Payout]:
        """What you were paid or are owed, one payout per completed trip, newest first,
        optionally of one trip (scope `payouts:read`)."""
        return Listing(Payout, {"trip_id": trip_id, **_page(limit, cursor)}, options=options)
