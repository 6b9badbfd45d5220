"""The API's resources, one class per group of endpoints, each used by both clients.

`RESOURCES` names the attribute of each on a client: adding a resource is a module here, a
line in `RESOURCES` and its annotation on `ridepledge._client.PartnerResources`. The operator
API's are `OPERATOR_RESOURCES`, annotated on `ridepledge._client.OperatorResources`.
"""

from typing import Any

from ridepledge.resources._base import NOT_GIVEN, CallOptions, NotGiven, Resource
from ridepledge.resources.add_ons import AddOns
from ridepledge.resources.demand import DemandResource
from ridepledge.resources.events import Events
from ridepledge.resources.fans import Fans
from ridepledge.resources.operator import (
    OperatorQuotes,
    OperatorTripRequests,
    OperatorTrips,
    Payouts,
    Profile,
)
from ridepledge.resources.partner import PartnerResource
from ridepledge.resources.pledges import Pledges
from ridepledge.resources.promo_codes import PromoCodes
from ridepledge.resources.trip_requests import TripRequests
from ridepledge.resources.trips import Trips
from ridepledge.resources.webhook_endpoints import WebhookDeliveries, WebhookEndpoints

RESOURCES: dict[str, type[Resource[Any]]] = {
    "partner": PartnerResource,
    "events": Events,
    "trips": Trips,
    "add_ons": AddOns,
    "pledges": Pledges,
    "promo_codes": PromoCodes,
    "demand": DemandResource,
    "fans": Fans,
    "webhook_endpoints": WebhookEndpoints,
    "webhook_deliveries": WebhookDeliveries,
    "trip_requests": TripRequests,
}
OPERATOR_RESOURCES: dict[str, type[Resource[Any]]] = {
    "profile": Profile,
    "trip_requests": OperatorTripRequests,
    "quotes": OperatorQuotes,
    "trips": OperatorTrips,
    "payouts": Payouts,
}

__all__ = [
    "AddOns",
    "NOT_GIVEN",
    "RESOURCES",
    "CallOptions",
    "DemandResource",
    "Events",
    "Fans",
    "NotGiven",
    "OPERATOR_RESOURCES",
    "OperatorQuotes",
    "OperatorTripRequests",
    "OperatorTrips",
    "PartnerResource",
    "Payouts",
    "Profile",
    "Pledges",
    "PromoCodes",
    "Resource",
    "TripRequests",
    "Trips",
    "WebhookDeliveries",
    "WebhookEndpoints",
]
