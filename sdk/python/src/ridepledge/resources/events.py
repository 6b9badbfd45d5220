"""`client.events`: the games and shows fans ride to."""

from __future__ import annotations

from datetime import datetime

from ridepledge.models import Event
from ridepledge.pagination import Pager
from ridepledge.resources._base import NOT_GIVEN, NotGiven, Resource, given, segment


class Events(Resource):
    def create(
        self,
        *,
        title: str,
        venue: str,
        starts_at: datetime,
        timezone: str,
        idempotency_key: str | None = None,
    ) -> Event:
        """Create an event (scope `events:write`). `timezone` is an IANA name such as
        ``"America/Chicago"``, used to show local times to fans."""
        body = {"title": title, "venue": venue, "starts_at": starts_at, "timezone": timezone}
        return self._post("/v1/events", Event, body, idempotency_key)

    def retrieve(self, event_id: str) -> Event:
        return self._get(f"/v1/events/{segment(event_id)}", Event)

    def update(
        self,
        event_id: str,
        *,
        title: str | NotGiven = NOT_GIVEN,
        venue: str | NotGiven = NOT_GIVEN,
        starts_at: datetime | NotGiven = NOT_GIVEN,
        timezone: str | NotGiven = NOT_GIVEN,
    ) -> Event:
        body = given(title=title, venue=venue, starts_at=starts_at, timezone=timezone)
        return self._patch(f"/v1/events/{segment(event_id)}", Event, body)

    def delete(self, event_id: str) -> None:
        """Delete an event; one with trips cannot be deleted (`ConflictError`)."""
        self._delete(f"/v1/events/{segment(event_id)}")

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> Pager[Event]:
        """Every event, newest first; `limit` is the page size (1-100)."""
        return self._list("/v1/events", Event, limit=limit, cursor=cursor)
