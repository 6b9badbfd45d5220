from marshmallow import RAISE, Schema, fields, validate

from widget_server.api.common import ListArgs
from widget_server.domain.text import Id, Text
from widget_server.representations import UTCDateTime
from widget_server.webhooks.endpoints import (
    ALL_EVENTS,
    MAX_DESCRIPTION_LENGTH,
    MAX_URL_LENGTH,
)
from widget_server.webhooks.outbox import EVENT_TYPES

_EVENTS_HELP = f'Event types to receive, or `["{ALL_EVENTS}"]` for all: ' + ", ".join(
    f"`{event}`" for event in EVENT_TYPES
)
_URL_HELP = (
    "Where to POST events: `https` to a host with public addresses only (private, loopback, "
    "link-local and similar addresses are refused); no user name or password in the URL."
)


# One event type (or "*"), checked by `webhooks.endpoints` (so the error names `events`); the
# list is at most every type once.
_EVENT_TYPE = {"metadata": {"enum": [ALL_EVENTS, *EVENT_TYPES]}}
_EVENTS_LENGTH = validate.Length(1, len(EVENT_TYPES) + 1)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class WebhookEndpointSchema(Schema):
    id = fields.String(metadata={"example": "we_01jd2x3y4z5a6b7c8d9e0f1g2h"})
    object = fields.Constant("webhook_endpoint")
    url = fields.String()
    description = fields.String(allow_none=True)
    events = fields.List(fields.String(), metadata={"description": _EVENTS_HELP})
    status = fields.String(metadata={"enum": ["enabled", "disabled"]})
    disabled_reason = fields.String(
        allow_none=True,
        metadata={"description": "Why it is disabled, e.g. after a `410 Gone` answer."},
    )
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class WebhookEndpointWithSecretSchema(WebhookEndpointSchema):
    secret = fields.String(
        metadata={
            "description": "The signing secret (`whsec_...`). Only in the responses of "
            "creation and `rotate_secret`: store it then.",
        }
    )


class WebhookEndpointCreateSchema(_Strict):
    url = Text(
        required=True,
        max_length=MAX_URL_LENGTH,
        metadata={"description": _URL_HELP, "example": "https://hooks.example.com/ridepledge"},
    )
    events = fields.List(
        Text(max_length=64, **_EVENT_TYPE),
        required=True,
        validate=_EVENTS_LENGTH,
        metadata={"description": _EVENTS_HELP, "example": ["pledge.created", "trip.confirmed"]},
    )
    description = Text(load_default=None, allow_none=True, max_length=MAX_DESCRIPTION_LENGTH)


class WebhookEndpointUpdateSchema(_Strict):
    url = Text(min_length=1, max_length=MAX_URL_LENGTH, metadata={"description": _URL_HELP})
    events = fields.List(
        Text(max_length=64, **_EVENT_TYPE),
        validate=_EVENTS_LENGTH,
        metadata={"description": _EVENTS_HELP},
    )
    description = Text(allow_none=True, max_length=MAX_DESCRIPTION_LENGTH)
    status = Text(
        validate=validate.OneOf(["enabled", "disabled"]),
        metadata={
            "description": "`enabled` re-enables a disabled endpoint; its pending deliveries "
            "resume in order. `disabled` pauses deliveries."
        },
    )


class WebhookAttemptSchema(Schema):
    attempted_at = UTCDateTime()
    status_code = fields.Integer(
        allow_none=True, metadata={"description": "null when no answer came (timeout, refused)."}
    )
    latency_ms = fields.Integer()
    response_excerpt = fields.String(
        allow_none=True, metadata={"description": "The first 1000 characters of the answer."}
    )
    error = fields.String(allow_none=True, metadata={"description": "Why no answer came."})


class WebhookDeliverySchema(Schema):
    id = fields.String(metadata={"example": "whd_01jd2x3y4z5a6b7c8d9e0f1g2h"})
    object = fields.Constant("webhook_delivery")
    endpoint_id = fields.String()
    message_id = fields.String(metadata={"description": "The `webhook-id` header it is sent with."})
    event_type = fields.Function(
        lambda delivery: delivery.message.type, metadata={"type": "string", "enum": EVENT_TYPES}
    )
    status = fields.String(metadata={"enum": ["pending", "succeeded", "failed"]})
    attempt_count = fields.Integer()
    next_attempt_at = UTCDateTime(
        allow_none=True, metadata={"description": "When it is tried next, while `pending`."}
    )
    last_status_code = fields.Integer(allow_none=True)
    created_at = UTCDateTime()
    attempts = fields.List(fields.Nested(WebhookAttemptSchema))


class WebhookDeliveryListArgs(ListArgs):
    endpoint_id = Id("we", load_default=None)
