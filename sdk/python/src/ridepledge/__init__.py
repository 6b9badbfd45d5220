"""RidePledge's Python SDK for partners' backends.

```python
import ridepledge

with ridepledge.Client(CLIENT_ID, CLIENT_SECRET, "https://api.ridepledge.example") as client:
    event = client.events.create(title=..., venue=..., starts_at=..., timezone=...)
```

See `docs/sdk.md` (or the package README) for the guide.
"""

from ridepledge import webhooks
from ridepledge._client import Client
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
from ridepledge.models import (
    Demand,
    DemandThreshold,
    DriverLink,
    Event,
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
    Stop,
    StopParams,
    StopRequest,
    Trip,
    WaitlistEntry,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from ridepledge.pagination import Page, Pager
from ridepledge.resources import NOT_GIVEN
from ridepledge.version import __version__
from ridepledge.webhooks import WebhookEvent, WebhookVerificationError

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "Client",
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
