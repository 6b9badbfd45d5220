"""Who is signed in to the console, and what they may do (the machinery is backoffice's).

`requires(permission)` is the one decorator that guards every console view; `owned(Model, id)`
is the one way a view loads an object: another partner's object is a 404.
"""

from __future__ import annotations

from flask import Flask

from widget_server.admin import CONSOLE
from widget_server.backoffice import sessions
from widget_server.backoffice.sessions import actor, client_address, secret_key  # noqa: F401

# Which roles may do what. Every role may look at everything (viewer is read only).
PERMISSIONS = {
    "view": {"owner", "editor", "developer", "viewer"},
    "self": {"owner", "editor", "developer", "viewer"},  # one's own account and sessions
    "catalog": {"owner", "editor"},  # events, trips, pledges, demand
    "branding": {"owner", "editor"},
    "developers": {"owner", "developer"},  # API clients and webhooks
    "team": {"owner"},
}
# Endpoints anyone may reach without signing in.
PUBLIC_ENDPOINTS = set(CONSOLE.public_endpoints)

requires = sessions.role_guard(PERMISSIONS)


def owned(model, object_id: str):
    """The signed-in admin's partner's object, or 404 (never a hint that it exists elsewhere)."""
    return sessions.owned(model, object_id, CONSOLE)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.setdefault("PERMISSIONS", PERMISSIONS)
