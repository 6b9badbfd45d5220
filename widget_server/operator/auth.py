"""What an operator's people may do. Roles (models.operators.OPERATOR_ROLES): the owner runs
everything, the team included; a dispatcher runs the fleet, the drivers, quotes and trips; a
viewer reads."""

from __future__ import annotations

from widget_server.backoffice import sessions
from widget_server.backoffice.sessions import actor  # noqa: F401  (the portal's audit actor)
from widget_server.operator import PORTAL

PERMISSIONS = {
    "view": {"owner", "dispatcher", "viewer"},
    "self": {"owner", "dispatcher", "viewer"},  # one's own two-step sign-in
    "dispatch": {"owner", "dispatcher"},  # fleet, drivers, quotes, trips
    "profile": {"owner"},  # the company's profile
    "team": {"owner"},
}

requires = sessions.role_guard(PERMISSIONS)


def owned(model, object_id: str):
    """The signed-in person's operator's object, or 404 (another operator's is the same)."""
    return sessions.owned(model, object_id, PORTAL)
