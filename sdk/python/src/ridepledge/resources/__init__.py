"""The API's resources, one class per group of endpoints, each used by both clients.

`RESOURCES` names the attribute of each on a client: adding a resource is a module here, a
line in `RESOURCES` and its annotation on `ridepledge._client.PartnerResources`.
"""

from typing import Any

from ridepledge.resources._base import NOT_GIVEN, CallOptions, NotGiven, Resource
from ridepledge.resources.demand import DemandResource
from ridepledge.resources.events import Events
from ridepledge.resources.fans import Fans
from ridepledge.resources.partner import PartnerResource
from ridepledge.resources.pledges import Pledges
from ridepledge.resources.trip_requests import TripRequests
from ridepledge.resources.trips import Trips
from ridepledge.resources.webhook_endpoints import WebhookDeliveries, WebhookEndpoints

RESOURCES: dict[str, type[Resource[Any]]] = {
    "partner": PartnerResource,
    "events": Events,
    "trips": Trips,
    "trip_requests": TripRequests,
    "pledges": Pledges,
    "demand": DemandResource,
    "fans": Fans,
    "webhook_endpoints": WebhookEndpoints,
    "webhook_deliveries": WebhookDeliveries,
}

__all__ = [
    "NOT_GIVEN",
    "RESOURCES",
    "CallOptions",
    "DemandResource",
    "Events",
    "Fans",
    "NotGiven",
    "PartnerResource",
    "Pledges",
    "Resource",
    "TripRequests",
    "Trips",
    "WebhookDeliveries",
    "WebhookEndpoints",
]
