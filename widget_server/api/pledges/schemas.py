from marshmallow import Schema, fields, validate

from widget_server.models.pledges import PLEDGE_STATUSES


class PledgeListArgs(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    cursor = fields.String(load_default=None)
    trip_id = fields.String(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(PLEDGE_STATUSES))
