"""Owns the tables: SQLAlchemy models, one module per aggregate; importing this registers all."""

from widget_server.models.admins import (
    AdminRecoveryCode,
    AdminSession,
    AdminSignInAttempt,
    AdminUser,
)
from widget_server.models.api_clients import AccessToken, ApiClient
from widget_server.models.audit import AuditLogEntry
from widget_server.models.checkins import Boarding, CheckIn, StopDeparture
from widget_server.models.demand import DemandSignal, DemandTally
from widget_server.models.events import Event
from widget_server.models.idempotency import IdempotencyRecord
from widget_server.models.logos import PartnerLogo, PartnerLogoPreview
from widget_server.models.marketplace import Quote, TripRequest, TripRequestInvite
from widget_server.models.notifications import OutboundEmail
from widget_server.models.operations import PeriodicRun
from widget_server.models.operators import Operator, OperatorDriver, Vehicle
from widget_server.models.partners import Partner
from widget_server.models.payments import SimulatedPayment, StripeEventRecord
from widget_server.models.payouts import Payout
from widget_server.models.pledges import Pledge, PledgeStatusChange
from widget_server.models.stop_requests import StopRequest
from widget_server.models.trips import Stop, Trip
from widget_server.models.waitlist import WaitlistEntry
from widget_server.models.webhooks import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)

__all__ = [
    "AdminRecoveryCode",
    "AdminSession",
    "AdminSignInAttempt",
    "AdminUser",
    "AccessToken",
    "ApiClient",
    "IdempotencyRecord",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookMessage",
    "AuditLogEntry",
    "Boarding",
    "CheckIn",
    "DemandSignal",
    "DemandTally",
    "Event",
    "Operator",
    "OperatorDriver",
    "OutboundEmail",
    "Partner",
    "PartnerLogo",
    "PartnerLogoPreview",
    "Payout",
    "PeriodicRun",
    "Pledge",
    "PledgeStatusChange",
    "SimulatedPayment",
    "Stop",
    "StopDeparture",
    "StripeEventRecord",
    "Quote",
    "Trip",
    "TripRequest",
    "TripRequestInvite",
    "Vehicle",
    "StopRequest",
    "WaitlistEntry",
]
