"""`client.webhook_endpoints` and `client.webhook_deliveries` (scope `webhooks:manage`)."""

from __future__ import annotations

from collections.abc import Sequence

from ridepledge.models import WebhookDelivery, WebhookEndpoint
from ridepledge.pagination import Pager
from ridepledge.resources._base import NOT_GIVEN, NotGiven, Resource, given, segment


class WebhookEndpoints(Resource):
    def create(
        self,
        *,
        url: str,
        events: Sequence[str],
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> WebhookEndpoint:
        """Add an endpoint. `events` lists the types wanted, or ``["*"]`` for all. The result's
        `secret` (``whsec_...``) is shown only now: store it to verify messages."""
        body = {"url": url, "events": [*events], "description": description}
        return self._post("/v1/webhook_endpoints", WebhookEndpoint, body, idempotency_key)

    def retrieve(self, endpoint_id: str) -> WebhookEndpoint:
        return self._get(f"/v1/webhook_endpoints/{segment(endpoint_id)}", WebhookEndpoint)

    def update(
        self,
        endpoint_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        events: Sequence[str] | NotGiven = NOT_GIVEN,
        description: str | None | NotGiven = NOT_GIVEN,
        status: str | NotGiven = NOT_GIVEN,
    ) -> WebhookEndpoint:
        """Change an endpoint; `status` ``"disabled"`` pauses it, ``"enabled"`` resumes it."""
        body = given(
            url=url,
            events=events if isinstance(events, NotGiven) else [*events],
            description=description,
            status=status,
        )
        return self._patch(f"/v1/webhook_endpoints/{segment(endpoint_id)}", WebhookEndpoint, body)

    def delete(self, endpoint_id: str) -> None:
        """Delete an endpoint and its delivery log."""
        self._delete(f"/v1/webhook_endpoints/{segment(endpoint_id)}")

    def rotate_secret(
        self, endpoint_id: str, *, idempotency_key: str | None = None
    ) -> WebhookEndpoint:
        """A new signing secret (in the result's `secret`); for 24 hours messages carry a
        signature with the old secret too."""
        path = f"/v1/webhook_endpoints/{segment(endpoint_id)}/rotate_secret"
        return self._post(path, WebhookEndpoint, None, idempotency_key)

    def list(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> Pager[WebhookEndpoint]:
        return self._list("/v1/webhook_endpoints", WebhookEndpoint, limit=limit, cursor=cursor)


class WebhookDeliveries(Resource):
    def retrieve(self, delivery_id: str) -> WebhookDelivery:
        """One delivery with every attempt."""
        return self._get(f"/v1/webhook_deliveries/{segment(delivery_id)}", WebhookDelivery)

    def retry(self, delivery_id: str, *, idempotency_key: str | None = None) -> WebhookDelivery:
        """Send a failed or pending delivery again now (``ConflictError`` if it succeeded)."""
        path = f"/v1/webhook_deliveries/{segment(delivery_id)}/retry"
        return self._post(path, WebhookDelivery, None, idempotency_key)

    def list(
        self,
        *,
        endpoint_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Pager[WebhookDelivery]:
        """The delivery log, newest first, optionally of one endpoint."""
        return self._list(
            "/v1/webhook_deliveries",
            WebhookDelivery,
            endpoint_id=endpoint_id,
            limit=limit,
            cursor=cursor,
        )
