"""`GET /v1/operator/profile`: the calling operator's profile and compliance."""

from flask import g

from widget_server.api.operator import blp, operator_route
from widget_server.api.operator.schemas import OperatorProfileSchema
from widget_server.domain.operators.operators import profile


@blp.get("/profile")
@operator_route(not_found=False)
@blp.response(200, OperatorProfileSchema)
def get_operator_profile():
    """Your company's profile (any operator scope): name, USDOT number, insurance expiry,
    service regions, contact, and what would block an award today."""
    return profile(g.operator)
