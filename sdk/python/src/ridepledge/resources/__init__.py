"""The API's resources, one class per group of endpoints."""

from ridepledge.resources._base import NOT_GIVEN, NotGiven
from ridepledge.resources.demand import DemandResource
from ridepledge.resources.events import Events
from ridepledge.resources.partner import PartnerResource
from ridepledge.resources.pledges import Pledges
from ridepledge.resources.trips import Trips
from ridepledge.resources.webhook_endpoints import WebhookDeliveries, WebhookEndpoints

__all__ = [
    "NOT_GIVEN",
    "DemandResource",
    "Events",
    "NotGiven",
    "PartnerResource",
    "Pledges",
    "Trips",
    "WebhookDeliveries",
    "WebhookEndpoints",
]
