"""`client.add_ons`: extras sold with a trip's seats (a tailgate pass, a scarf)."""

from __future__ import annotations

from typing import Unpack

from ridepledge.models import AddOn
from ridepledge.resources._base import (
    NOT_GIVEN,
    Call,
    CallOptions,
    NotGiven,
    R,
    Resource,
    endpoint,
    given,
    returns,
    returns_items,
)


class AddOns(Resource[R]):
    @endpoint("POST", "/v1/trips/{trip_id}/add_ons")
    def create(
        self,
        trip_id: str,
        *,
        name: str,
        unit_amount: int,
        quantity: int | None = None,
        active: bool = True,
        idempotency_key: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Call[AddOn]:
        """Add an extra to a trip (scope `trips:write`): `unit_amount` each in minor units of
        the trip's currency; `quantity` on sale in all (None: no limit)."""
        body = {"name": name, "unit_amount": unit_amount, "quantity": quantity, "active": active}
        path = {"trip_id": trip_id}
        return Call(
            returns(AddOn), path, body=body, idempotency_key=idempotency_key, options=options
        )

    @endpoint("GET", "/v1/trips/{trip_id}/add_ons/{add_on_id}")
    def retrieve(self, trip_id: str, add_on_id: str, **options: Unpack[CallOptions]) -> Call[AddOn]:
        """One extra with what is sold and left (scope `trips:read`)."""
        return Call(returns(AddOn), {"trip_id": trip_id, "add_on_id": add_on_id}, options=options)

    @endpoint("PATCH", "/v1/trips/{trip_id}/add_ons/{add_on_id}")
    def update(
        self,
        trip_id: str,
        add_on_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        unit_amount: int | NotGiven = NOT_GIVEN,
        quantity: int | None | NotGiven = NOT_GIVEN,
        active: bool | NotGiven = NOT_GIVEN,
        **options: Unpack[CallOptions],
    ) -> Call[AddOn]:
        """Change an extra, or turn it off (`active=False`). Pledges already made keep what
        they bought; `quantity` cannot go below the units sold (`ValidationError`)."""
        body = given(name=name, unit_amount=unit_amount, quantity=quantity, active=active)
        path = {"trip_id": trip_id, "add_on_id": add_on_id}
        return Call(returns(AddOn), path, body=body, options=options)

    @endpoint("GET", "/v1/trips/{trip_id}/add_ons")
    def list(self, trip_id: str, **options: Unpack[CallOptions]) -> Call[list[AddOn]]:
        """A trip's extras, oldest first, turned-off ones included (scope `trips:read`)."""
        return Call(returns_items(AddOn), {"trip_id": trip_id}, options=options)
