"""`client.fans`: one fan's data requests (GDPR/CCPA style): export it, erase it."""

from __future__ import annotations

from typing import Unpack

from ridepledge.models import FanErasure, FanExport
from ridepledge.resources._base import Call, CallOptions, R, Resource, endpoint, returns


class Fans(Resource[R]):
    @endpoint("GET", "/v1/fans/export")
    def export(self, *, email: str, **options: Unpack[CallOptions]) -> Call[FanExport]:
        """Everything held about the fan with this email (scope `pledges:read`): pledges with
        their status history, demand requests, waitlist places, stop requests, emails sent."""
        return Call(returns(FanExport), params={"email": email}, options=options)

    @endpoint("POST", "/v1/fans/erase")
    def erase(
        self,
        *,
        email: str,
        idempotency_key: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Call[FanErasure]:
        """Remove the fan (name, email, phone, attribution) from your data (scope
        `pledges:write`); financial records stay, without the person. Erasing again finds
        nothing: the counts are then 0."""
        body = {"email": email}
        return Call(
            returns(FanErasure), body=body, idempotency_key=idempotency_key, options=options
        )
