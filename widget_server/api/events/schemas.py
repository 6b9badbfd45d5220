from marshmallow import RAISE, Schema

from widget_server.api.fields import AwareDateTime, Sponsor, TimeZone
from widget_server.api.trips.schemas import group_tiers_field
from widget_server.domain.text import Text


class EventCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    title = Text(required=True, max_length=200)
    venue = Text(required=True, max_length=200)
    starts_at = AwareDateTime(required=True, metadata={"example": "2026-12-20T19:00:00Z"})
    timezone = TimeZone(required=True, metadata={"example": "America/Chicago"})
    sponsor = Sponsor(
        metadata={
            "description": "Who presents the event (null: nobody); the logo is uploaded "
            "in the console."
        },
    )
    group_tiers = group_tiers_field()


class EventUpdateSchema(EventCreateSchema):
    class Meta:
        unknown = RAISE

    title = Text(min_length=1, max_length=200)
    venue = Text(min_length=1, max_length=200)
    starts_at = AwareDateTime()
    timezone = TimeZone()
