"""Fan data requests (GDPR/CCPA style): export one fan's data, erase it.

- `GET /v1/fans/export?email=` (scope `pledges:read`): the fan's pledges (with status
  history), demand requests, waitlist places, stop requests and emails sent, as JSON.
- `POST /v1/fans/erase` `{"email"}` (scope `pledges:write`): removes the person (name, email,
  phone, attribution) from pledges, demand requests, waitlist places (a live place ends), stop
  requests, emails and webhook message copies; keeps
  the financial record (seats, amounts, statuses, provider ids). Idempotent: erasing again
  finds nothing. Only the token's partner's data is ever touched.
"""

from flask import g
from marshmallow import RAISE, Schema, fields

from widget_server.api.common import Blueprint, actor, protected
from widget_server.domain.privacy import erase_fan, export_fan_data
from widget_server.domain.text import Email
from widget_server.extensions import db

blp = Blueprint("fans", __name__, url_prefix="/v1/fans", description="Fan data requests.")


class FanArgs(Schema):
    class Meta:
        unknown = RAISE

    email = Email(required=True, metadata={"description": "The fan's email address."})


class FanExportSchema(Schema):
    object = fields.Constant("fan_export")
    email = fields.String()
    pledges = fields.List(fields.Dict())
    demand_requests = fields.List(fields.Dict())
    waitlist_entries = fields.List(fields.Dict())
    stop_requests = fields.List(fields.Dict())
    emails = fields.List(fields.Dict())


class FanErasureSchema(Schema):
    object = fields.Constant("fan_erasure")
    pledges = fields.Integer(metadata={"description": "Pledges whose person was removed."})
    demand_requests = fields.Integer()
    waitlist_entries = fields.Integer(metadata={"description": "Places in a waitlist ended."})
    stop_requests = fields.Integer()
    emails = fields.Integer()


@blp.get("/export")
@protected(blp, "pledges:read", not_found=False)
@blp.arguments(FanArgs, location="query")
@blp.response(200, FanExportSchema)
def export_fan(args):
    """Everything held about one fan of this partner, as JSON."""
    return export_fan_data(db.session, g.partner, args["email"])


@blp.post("/erase")
@protected(blp, "pledges:write", not_found=False)
@blp.arguments(FanArgs)
@blp.response(200, FanErasureSchema)
def erase(args):
    """Erase one fan's personal data; financial records stay, without the person."""
    with db.transaction() as session:
        counts = erase_fan(session, g.partner, args["email"], actor=actor())
    return counts
