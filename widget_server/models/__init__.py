"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from widget_server.models.audit import AuditLogEntry
from widget_server.models.demand import DemandSignal
from widget_server.models.events import Event
from widget_server.models.partners import Partner
from widget_server.models.pledges import Pledge, PledgeStatusChange
from widget_server.models.trips import Stop, Trip

__all__ = [
    "AuditLogEntry",
    "DemandSignal",
    "Event",
    "Partner",
    "Pledge",
    "PledgeStatusChange",
    "Stop",
    "Trip",
]
