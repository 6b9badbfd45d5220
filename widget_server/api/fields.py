"""Input field types shared by the API schemas."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import ValidationError, fields

from widget_server.domain.text import Text


class AwareDateTime(fields.AwareDateTime):
    """RFC 3339 with an offset (or Z), converted to UTC."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        from datetime import UTC

        return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)


class TimeZone(Text):
    """An IANA time zone name such as America/Chicago."""

    def __init__(self, **kwargs):
        super().__init__(max_length=64, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        name = super()._deserialize(value, attr, data, **kwargs)
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError("must be an IANA time zone such as America/Chicago") from None
        return name


class Currency(Text):
    """An ISO 4217 code such as USD (any case in, upper case out)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=3, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        from widget_server.domain.partners import CURRENCIES

        code = super()._deserialize(value, attr, data, **kwargs).upper()
        if code not in CURRENCIES:
            raise ValidationError("must be an ISO 4217 currency code such as USD")
        return code
