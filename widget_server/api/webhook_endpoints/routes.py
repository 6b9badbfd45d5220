"""Webhooks: `GET/POST /v1/webhook_endpoints`, `GET/PATCH/DELETE /v1/webhook_endpoints/{id}`,
`POST /v1/webhook_endpoints/{id}/rotate_secret`, `GET /v1/webhook_deliveries`,
`GET /v1/webhook_deliveries/{id}`, `POST /v1/webhook_deliveries/{id}/retry`."""

from flask import current_app, g
from sqlalchemy.orm import selectinload

from widget_server.api.common import (
    Blueprint,
    ListArgs,
    actor,
    created,
    list_schema,
    owned,
    page,
    problem_doc,
    protected,
)
from widget_server.api.webhook_endpoints.schemas import (
    WebhookDeliveryListArgs,
    WebhookDeliverySchema,
    WebhookEndpointCreateSchema,
    WebhookEndpointSchema,
    WebhookEndpointUpdateSchema,
    WebhookEndpointWithSecretSchema,
)
from widget_server.extensions import db
from widget_server.models import WebhookDelivery, WebhookEndpoint
from widget_server.webhooks import endpoints

SCOPE = "webhooks:manage"

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/v1",
    description="Webhook endpoints (Standard Webhooks 1.0) and the log of their deliveries.",
)
WebhookEndpointList = list_schema(WebhookEndpointSchema, "WebhookEndpointList")
WebhookDeliveryList = list_schema(WebhookDeliverySchema, "WebhookDeliveryList")


class _WithSecret:
    """An endpoint plus its plaintext secret, for the two responses that show it."""

    def __init__(self, endpoint: WebhookEndpoint, secret: str):
        self._endpoint = endpoint
        self.secret = secret

    def __getattr__(self, name):
        return getattr(self._endpoint, name)


def _settings():
    return current_app.config["SETTINGS"]


def _checked_url(url: str) -> endpoints.CheckedUrl:
    """The URL checked (its host resolved) with no transaction open: the token check's reads
    end first, the endpoint is stored in a transaction of its own afterwards."""
    db.end_reads()
    return endpoints.checked_url(url, _settings())


@blp.get("/webhook_endpoints")
@protected(blp, SCOPE, not_found=False)
@blp.arguments(ListArgs, location="query")
@blp.response(200, WebhookEndpointList)
def list_endpoints(args):
    """List webhook endpoints, newest first."""
    query = endpoints.endpoints_query(g.partner.id)
    return page(query, WebhookEndpoint.id, limit=args["limit"], cursor=args["cursor"])


@blp.post("/webhook_endpoints")
@protected(blp, SCOPE, not_found=False)
@blp.arguments(WebhookEndpointCreateSchema)
@blp.response(201, WebhookEndpointWithSecretSchema)
@problem_doc(blp, 422, "Invalid or unsafe URL, unknown events")
@created("/v1/webhook_endpoints/{id}")
def create_endpoint(data):
    """Create an endpoint. The response carries its signing `secret`, shown only now.

    Rules the schema cannot express (a 422 naming `url`): the URL's host must resolve to
    public addresses only, checked when it is created and again at every delivery."""
    data["url"] = _checked_url(data["url"])
    with db.transaction() as session:
        endpoint, secret = endpoints.create_endpoint(
            session, g.partner, settings=_settings(), actor=actor(), **data
        )
    return _WithSecret(endpoint, secret)


@blp.get("/webhook_endpoints/<endpoint_id>")
@protected(blp, SCOPE)
@blp.response(200, WebhookEndpointSchema)
def get_endpoint(endpoint_id):
    """Retrieve an endpoint (never its secret)."""
    return owned(WebhookEndpoint, endpoint_id)


@blp.patch("/webhook_endpoints/<endpoint_id>")
@protected(blp, SCOPE)
@blp.arguments(WebhookEndpointUpdateSchema)
@blp.response(200, WebhookEndpointSchema)
@problem_doc(blp, 422, "Invalid or unsafe URL, unknown events")
def update_endpoint(data, endpoint_id):
    """Change the URL, events or description, or disable / re-enable the endpoint.

    Rules the schema cannot express (a 422 naming `url`): the URL's host must resolve to
    public addresses only. An empty body changes nothing."""
    endpoint = owned(WebhookEndpoint, endpoint_id)
    if "url" in data:
        data["url"] = _checked_url(data["url"])
    with db.transaction() as session:
        return endpoints.update_endpoint(
            session,
            endpoint,
            data,
            settings=_settings(),
            actor=actor(),
        )


@blp.delete("/webhook_endpoints/<endpoint_id>")
@protected(blp, SCOPE)
@blp.response(204)
def delete_endpoint(endpoint_id):
    """Delete an endpoint with its delivery log; nothing more is sent to it."""
    with db.transaction() as session:
        endpoints.delete_endpoint(session, owned(WebhookEndpoint, endpoint_id), actor=actor())


@blp.post("/webhook_endpoints/<endpoint_id>/rotate_secret")
@protected(blp, SCOPE)
@blp.response(200, WebhookEndpointWithSecretSchema)
def rotate_secret(endpoint_id):
    """Replace the signing secret.

    The response carries the new secret (only now). For 24 hours every message is signed with
    both the new and the previous secret, so receivers can switch without losing one."""
    with db.transaction() as session:
        endpoint, secret = endpoints.rotate_secret(
            session, owned(WebhookEndpoint, endpoint_id), settings=_settings(), actor=actor()
        )
    return _WithSecret(endpoint, secret)


@blp.get("/webhook_deliveries")
@protected(blp, SCOPE, not_found=False)
@blp.arguments(WebhookDeliveryListArgs, location="query")
@blp.response(200, WebhookDeliveryList)
def list_deliveries(args):
    """List deliveries with their attempts, newest first; filter by `endpoint_id`."""
    query = endpoints.deliveries_query(g.partner.id, args["endpoint_id"]).options(
        selectinload(WebhookDelivery.attempts), selectinload(WebhookDelivery.message)
    )
    return page(query, WebhookDelivery.id, limit=args["limit"], cursor=args["cursor"])


@blp.get("/webhook_deliveries/<delivery_id>")
@protected(blp, SCOPE)
@blp.response(200, WebhookDeliverySchema)
def get_delivery(delivery_id):
    """Retrieve a delivery with every attempt: when, status code, latency, answer, error."""
    return owned(WebhookDelivery, delivery_id)


@blp.post("/webhook_deliveries/<delivery_id>/retry")
@protected(blp, SCOPE)
@blp.response(200, WebhookDeliverySchema)
@problem_doc(blp, 409, "Succeeded, in progress, or disabled")
def retry_delivery(delivery_id):
    """Attempt a failed or pending delivery again now, with the same `webhook-id`."""
    with db.transaction() as session:
        return endpoints.retry_delivery(session, owned(WebhookDelivery, delivery_id), actor=actor())
