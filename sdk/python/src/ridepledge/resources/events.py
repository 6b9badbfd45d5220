"""`client.events`: the games and shows fans ride to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Unpack

from ridepledge.models import Event, GroupTierParams, SponsorParams
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
    returns_nothing,
)


class Events(Resource[R]):
    @endpoint("POST", "/v1/events")
    def create(
        self,
        *,
        title: str,
        venue: str,
        starts_at: datetime,
        timezone: str,
        group_tiers: Sequence[GroupTierParams] = (),
        sponsor: SponsorParams | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Call[Event]:
        """Create an event (scope `events:write`). `timezone` is an IANA name such as
        ``"America/Chicago"``, used to show local times to fans."""
        body = {
            "title": title,
            "venue": venue,
            "starts_at": starts_at,
            "timezone": timezone,
            "group_tiers": list(group_tiers),
            "sponsor": sponsor,
        }
        return Call(returns(Event), body=body, idempotency_key=idempotency_key, options=options)

    @endpoint("GET", "/v1/events/{event_id}")
    def retrieve(self, event_id: str, **options: Unpack[CallOptions]) -> Call[Event]:
        """One event (scope `events:read`)."""
        return Call(returns(Event), {"event_id": event_id}, options=options)

    @endpoint("PATCH", "/v1/events/{event_id}")
    def update(
        self,
        event_id: str,
        *,
        title: str | NotGiven = NOT_GIVEN,
        venue: str | NotGiven = NOT_GIVEN,
        starts_at: datetime | NotGiven = NOT_GIVEN,
        timezone: str | NotGiven = NOT_GIVEN,
        group_tiers: Sequence[GroupTierParams] | NotGiven = NOT_GIVEN,
        sponsor: SponsorParams | None | NotGiven = NOT_GIVEN,
        **options: Unpack[CallOptions],
    ) -> Call[Event]:
        """Change an event; arguments left out stay as they are. `group_tiers`: the tiers of
        its trips that set none of their own. `sponsor`: who presents it (None: nobody)."""
        body = given(
            title=title,
            venue=venue,
            starts_at=starts_at,
            timezone=timezone,
            group_tiers=listed(group_tiers),
            sponsor=sponsor,
        )
        return Call(returns(Event), {"event_id": event_id}, body=body, options=options)

    @endpoint("DELETE", "/v1/events/{event_id}")
    def delete(self, event_id: str, **options: Unpack[CallOptions]) -> Call[None]:
        """Delete an event; one with trips cannot be deleted (`ConflictError`)."""
        return Call(returns_nothing, {"event_id": event_id}, options=options)

    @listing("/v1/events")
    def list(
        self, *, limit: int | None = None, cursor: str | None = None, **options: Unpack[CallOptions]
    ) -> Listing[Event]:
        """Every event, newest first; `limit` is the page size (1-100)."""
        return Listing(Event, {"limit": limit, "cursor": cursor}, options=options)
