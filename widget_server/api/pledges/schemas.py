from marshmallow import fields, validate

from widget_server.api.common import ListArgs
from widget_server.models.pledges import PLEDGE_STATUSES


class PledgeListArgs(ListArgs):
    trip_id = fields.String(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(PLEDGE_STATUSES))
