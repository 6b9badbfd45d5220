"""RidePledge's Python SDK for partners' backends (`Client`) and bus companies'
(`OperatorClient`).

```python
import ridepledge

with ridepledge.Client(CLIENT_ID, CLIENT_SECRET, "https://api.ridepledge.example") as client:
    event = client.events.create(title=..., venue=..., starts_at=..., timezone=...)

async with ridepledge.AsyncClient(CLIENT_ID, CLIENT_SECRET, BASE_URL) as client:  # [async]
    event = await client.events.create(title=..., venue=..., starts_at=..., timezone=...)
```

See `docs/sdk.md` (or the package README) for the guide.
"""

from typing import TYPE_CHECKING, Any

from ridepledge import webhooks
from ridepledge._client import Client, OperatorClient
from ridepledge._http import Options
from ridepledge.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    IdempotencyInProgressError,
    IdempotencyKeyReusedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RidePledgeError,
    ServerError,
    SoldOutError,
    ValidationError,
)
from ridepledge.marketplace import (
    Assignment,
    Award,
    EventSummary,
    OperatorManifest,
    OperatorManifestStop,
    OperatorProfile,
    OperatorRider,
    OperatorTrip,
    PartnerRef,
    Payout,
    Quote,
    QuoteOperator,
    TripRequest,
)
from ridepledge.models import (
    AddOn,
    AddOnCount,
    Demand,
    DemandThreshold,
    DriverLink,
    Event,
    FanErasure,
    FanExport,
    Logo,
    Manifest,
    ManifestEvent,
    ManifestRider,
    ManifestRow,
    ManifestStop,
    Operator,
    OperatorParams,
    Origin,
    OriginParams,
    Partner,
    Pledge,
    PromoCode,
    Sponsor,
    SponsorParams,
    Stop,
    StopParams,
    StopRequest,
    Trip,
    WaitlistEntry,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from ridepledge.pagination import AsyncPager, Page, Pager
from ridepledge.resources import NOT_GIVEN, CallOptions
from ridepledge.version import __version__
from ridepledge.webhook_events import (
    DemandThresholdReachedEvent,
    PledgeActionRequiredEvent,
    PledgeBoardedEvent,
    PledgeCanceledEvent,
    PledgeCreatedEvent,
    PledgeDroppedEvent,
    PledgePaidEvent,
    PledgeRefundedEvent,
    TripBelowThresholdEvent,
    TripCanceledEvent,
    TripConfirmedEvent,
    TripFailedEvent,
    TripOpenedEvent,
    UnknownEvent,
    WebhookTest,
    WebhookTestEvent,
)
from ridepledge.webhook_events import Event as WebhookEventType
from ridepledge.webhooks import WebhookEvent, WebhookVerificationError, construct_event

if TYPE_CHECKING:
    # (Not in __all__: `from ridepledge import *` must work without httpx.)
    from ridepledge._async_client import AsyncClient as AsyncClient
    from ridepledge._async_client import AsyncOperatorClient as AsyncOperatorClient


def __getattr__(name: str) -> Any:
    """`AsyncClient` and `AsyncOperatorClient` are imported on first use: only they need httpx
    (the `async` extra)."""
    if name in ("AsyncClient", "AsyncOperatorClient"):
        from ridepledge import _async_client

        return getattr(_async_client, name)
    raise AttributeError(f"module 'ridepledge' has no attribute {name!r}")


__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APITimeoutError",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "CallOptions",
    "Client",
    "OperatorClient",
    "Assignment",
    "Award",
    "EventSummary",
    "OperatorManifest",
    "OperatorManifestStop",
    "OperatorProfile",
    "OperatorRider",
    "OperatorTrip",
    "PartnerRef",
    "Payout",
    "Quote",
    "QuoteOperator",
    "TripRequest",
    "DemandThresholdReachedEvent",
    "FanErasure",
    "FanExport",
    "PledgeActionRequiredEvent",
    "PledgeBoardedEvent",
    "PledgeCanceledEvent",
    "PledgeCreatedEvent",
    "PledgeDroppedEvent",
    "PledgePaidEvent",
    "PledgeRefundedEvent",
    "TripBelowThresholdEvent",
    "TripCanceledEvent",
    "TripConfirmedEvent",
    "TripFailedEvent",
    "TripOpenedEvent",
    "UnknownEvent",
    "WebhookEventType",
    "WebhookTest",
    "WebhookTestEvent",
    "construct_event",
    "ConflictError",
    "Demand",
    "DemandThreshold",
    "DriverLink",
    "StopRequest",
    "WaitlistEntry",
    "Event",
    "IdempotencyInProgressError",
    "IdempotencyKeyReusedError",
    "Manifest",
    "ManifestEvent",
    "ManifestRider",
    "ManifestRow",
    "ManifestStop",
    "NotFoundError",
    "Logo",
    "Operator",
    "OperatorParams",
    "Options",
    "Origin",
    "OriginParams",
    "Page",
    "Pager",
    "Partner",
    "PermissionDeniedError",
    "Pledge",
    "AddOn",
    "AddOnCount",
    "Sponsor",
    "SponsorParams",
    "PromoCode",
    "RateLimitError",
    "RidePledgeError",
    "ServerError",
    "SoldOutError",
    "Stop",
    "StopParams",
    "Trip",
    "ValidationError",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookVerificationError",
    "__version__",
    "webhooks",
]
