"""`client.webhook_endpoints` and `client.webhook_deliveries` (scope `webhooks:manage`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

from ridepledge.models import WebhookDelivery, WebhookEndpoint
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


class WebhookEndpoints(Resource[R]):
    @endpoint("POST", "/v1/webhook_endpoints")
    def create(
        self,
        *,
        url: str,
        events: Sequence[str],
        description: str | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Call[WebhookEndpoint]:
        """Add an endpoint. `events` lists the types wanted, or ``["*"]`` for all. The result's
        `secret` (``whsec_...``) is shown only now: store it to verify messages."""
        body = {"url": url, "events": [*events], "description": description}
        return Call(
            returns(WebhookEndpoint), body=body, idempotency_key=idempotency_key, options=options
        )

    @endpoint("GET", "/v1/webhook_endpoints/{endpoint_id}")
    def retrieve(self, endpoint_id: str, **options: Unpack[CallOptions]) -> Call[WebhookEndpoint]:
        """One endpoint (without its secret)."""
        return Call(returns(WebhookEndpoint), {"endpoint_id": endpoint_id}, options=options)

    @endpoint("PATCH", "/v1/webhook_endpoints/{endpoint_id}")
    def update(
        self,
        endpoint_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        events: Sequence[str] | NotGiven = NOT_GIVEN,
        description: str | None | NotGiven = NOT_GIVEN,
        status: str | NotGiven = NOT_GIVEN,
        **options: Unpack[CallOptions],
    ) -> Call[WebhookEndpoint]:
        """Change an endpoint; `status` ``"disabled"`` pauses it, ``"enabled"`` resumes it."""
        body = given(
            url=url,
            events=listed(events),
            description=description,
            status=status,
        )
        path = {"endpoint_id": endpoint_id}
        return Call(returns(WebhookEndpoint), path, body=body, options=options)

    @endpoint("DELETE", "/v1/webhook_endpoints/{endpoint_id}")
    def delete(self, endpoint_id: str, **options: Unpack[CallOptions]) -> Call[None]:
        """Delete an endpoint and its delivery log."""
        return Call(returns_nothing, {"endpoint_id": endpoint_id}, options=options)

    @endpoint("POST", "/v1/webhook_endpoints/{endpoint_id}/rotate_secret")
    def rotate_secret(
        self,
        endpoint_id: str,
        *,
        idempotency_key: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Call[WebhookEndpoint]:
        """A new signing secret (in the result's `secret`); for 24 hours messages carry a
        signature with the old secret too."""
        path = {"endpoint_id": endpoint_id}
        return Call(
            returns(WebhookEndpoint), path, idempotency_key=idempotency_key, options=options
        )

    @listing("/v1/webhook_endpoints")
    def list(
        self, *, limit: int | None = None, cursor: str | None = None, **options: Unpack[CallOptions]
    ) -> Listing[WebhookEndpoint]:
        """Every endpoint, newest first."""
        return Listing(WebhookEndpoint, {"limit": limit, "cursor": cursor}, options=options)


class WebhookDeliveries(Resource[R]):
    @endpoint("GET", "/v1/webhook_deliveries/{delivery_id}")
    def retrieve(self, delivery_id: str, **options: Unpack[CallOptions]) -> Call[WebhookDelivery]:
        """One delivery with every attempt."""
        return Call(returns(WebhookDelivery), {"delivery_id": delivery_id}, options=options)

    @endpoint("POST", "/v1/webhook_deliveries/{delivery_id}/retry")
    def retry(
        self,
        delivery_id: str,
        *,
        idempotency_key: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Call[WebhookDelivery]:
        """Send a failed or pending delivery again now (``ConflictError`` if it succeeded)."""
        path = {"delivery_id": delivery_id}
        return Call(
            returns(WebhookDelivery), path, idempotency_key=idempotency_key, options=options
        )

    @listing("/v1/webhook_deliveries")
    def list(
        self,
        *,
        endpoint_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Listing[WebhookDelivery]:
        """The delivery log, newest first, optionally of one endpoint."""
        params = {"endpoint_id": endpoint_id, "limit": limit, "cursor": cursor}
        return Listing(WebhookDelivery, params, options=options)
