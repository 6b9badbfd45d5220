"""Input field types shared by the API schemas."""

from __future__ import annotations

import zoneinfo
from functools import cache

from marshmallow import ValidationError, fields


class AwareDateTime(fields.AwareDateTime):
    """RFC 3339 with an offset (or Z), converted to UTC."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        from datetime import UTC

        return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)


@cache
def time_zone_names() -> frozenset[str]:
    """Every IANA time zone name this server knows: exactly what `TimeZone` accepts (and the
    `enum` the OpenAPI document lists)."""
    return frozenset(zoneinfo.available_timezones())


class TimeZone(fields.String):
    """An IANA time zone name such as America/Chicago."""

    def _deserialize(self, value, attr, data, **kwargs):
        name = super()._deserialize(value, attr, data, **kwargs)
        if name not in time_zone_names():
            raise ValidationError("must be an IANA time zone such as America/Chicago")
        return name


class Currency(fields.String):
    """An ISO 4217 code this service supports, in any case (stored upper-case)."""

    def _deserialize(self, value, attr, data, **kwargs):
        from widget_server.domain.partners import CURRENCIES

        code = super()._deserialize(value, attr, data, **kwargs).upper()
        if code not in CURRENCIES:
            raise ValidationError("must be an ISO 4217 currency code such as USD")
        return code
