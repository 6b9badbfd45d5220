from marshmallow import validate

from widget_server.api.common import ListArgs
from widget_server.domain.text import Id, Text
from widget_server.models.pledges import PLEDGE_STATUSES


class PledgeListArgs(ListArgs):
    trip_id = Id("trp", load_default=None)
    status = Text(load_default=None, validate=validate.OneOf(PLEDGE_STATUSES))
    referred_by = Id(
        "plg",
        load_default=None,
        metadata={"description": "Only pledges brought by this pledge's share link."},
    )
