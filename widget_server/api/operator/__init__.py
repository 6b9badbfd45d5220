"""Owns the operator API face (`/v1/operator`): the routes operators' clients call (their
profile, the requests sent to them, their quotes, trips and payouts), all on one blueprint.

Each area is a module here adding routes to `blp`; a new one is one line in `ROUTE_MODULES`.
Every route is `operator_route(scope)`: a token of an operator's client (a partner's token is
a 403 problem), and what it loads goes through `owned_by_operator` (another operator's id is a
404, never a hint).
"""

from __future__ import annotations

from importlib import import_module

from flask import g

from widget_server.api.common import Blueprint, protected
from widget_server.domain.errors import NotFound
from widget_server.extensions import db
from widget_server.ids import is_id

blp = Blueprint(
    "operator_api",
    __name__,
    url_prefix="/v1/operator",
    description="For bus companies (operators' API clients): your profile, requests, quotes, "
    "trips and payouts.",
)

# The modules adding routes to `blp`, in the order the API document lists them.
ROUTE_MODULES = ["profile", "requests", "trips", "payouts"]


def operator_route(scope: str | None = None, *, not_found: bool = True):
    """`protected` for the operator API: an operator client's token with `scope` (None: any
    operator scope); sets `g.operator`."""
    return protected(blp, scope, not_found=not_found, operator=True)


def owned_by_operator(model, object_id: str, prefix: str):
    """The calling operator's own object, or 404 (another operator's is the same 404)."""
    obj = db.session.get(model, object_id) if is_id(object_id, prefix) else None
    if obj is None or obj.operator_id != g.operator.id:
        raise NotFound(f"no {model.__name__.lower()} {object_id}")
    return obj


def operator_blueprint() -> Blueprint:
    """`blp` with every route module's routes on it."""
    for name in ROUTE_MODULES:
        import_module(f"{__name__}.{name}")
    return blp
