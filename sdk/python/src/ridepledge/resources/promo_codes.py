"""`client.promo_codes`: codes fans type for a discount per seat (docs/pricing.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Unpack

from ridepledge.models import PromoCode
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


class PromoCodes(Resource[R]):
    @endpoint("POST", "/v1/promo_codes")
    def create(
        self,
        *,
        code: str,
        percent_off: int | None = None,
        amount_off: int | None = None,
        currency: str | None = None,
        max_redemptions: int | None = None,
        per_fan_limit: int | None = None,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        event_id: str | None = None,
        trip_id: str | None = None,
        active: bool = True,
        idempotency_key: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Call[PromoCode]:
        """Create a code (scope `trips:write`): `percent_off` (1-100) or `amount_off` per seat
        in `currency`; optional total and per-fan limits, window, and scope (`event_id` or
        `trip_id`; neither: every trip)."""
        body = {
            "code": code,
            "percent_off": percent_off,
            "amount_off": amount_off,
            "currency": currency,
            "max_redemptions": max_redemptions,
            "per_fan_limit": per_fan_limit,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "event_id": event_id,
            "trip_id": trip_id,
            "active": active,
        }
        return Call(returns(PromoCode), body=body, idempotency_key=idempotency_key, options=options)

    @endpoint("GET", "/v1/promo_codes/{promo_code_id}")
    def retrieve(self, promo_code_id: str, **options: Unpack[CallOptions]) -> Call[PromoCode]:
        """One code and its `times_redeemed` (scope `trips:read`)."""
        return Call(returns(PromoCode), {"promo_code_id": promo_code_id}, options=options)

    @endpoint("PATCH", "/v1/promo_codes/{promo_code_id}")
    def update(
        self,
        promo_code_id: str,
        *,
        code: str | NotGiven = NOT_GIVEN,
        percent_off: int | None | NotGiven = NOT_GIVEN,
        amount_off: int | None | NotGiven = NOT_GIVEN,
        currency: str | None | NotGiven = NOT_GIVEN,
        max_redemptions: int | None | NotGiven = NOT_GIVEN,
        per_fan_limit: int | None | NotGiven = NOT_GIVEN,
        starts_at: datetime | None | NotGiven = NOT_GIVEN,
        ends_at: datetime | None | NotGiven = NOT_GIVEN,
        event_id: str | None | NotGiven = NOT_GIVEN,
        trip_id: str | None | NotGiven = NOT_GIVEN,
        active: bool | NotGiven = NOT_GIVEN,
        **options: Unpack[CallOptions],
    ) -> Call[PromoCode]:
        """Change a code (``active=False`` turns it off); pledges already made keep their
        price. Arguments left out stay as they are."""
        body = given(
            code=code,
            percent_off=percent_off,
            amount_off=amount_off,
            currency=currency,
            max_redemptions=max_redemptions,
            per_fan_limit=per_fan_limit,
            starts_at=starts_at,
            ends_at=ends_at,
            event_id=event_id,
            trip_id=trip_id,
            active=active,
        )
        return Call(
            returns(PromoCode), {"promo_code_id": promo_code_id}, body=body, options=options
        )

    @listing("/v1/promo_codes")
    def list(
        self, *, limit: int | None = None, cursor: str | None = None, **options: Unpack[CallOptions]
    ) -> Listing[PromoCode]:
        """Every code, newest first; `limit` is the page size (1-100)."""
        return Listing(PromoCode, {"limit": limit, "cursor": cursor}, options=options)
