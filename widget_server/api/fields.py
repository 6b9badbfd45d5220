"""Input field types shared by the API schemas."""

from __future__ import annotations

import zoneinfo
from functools import cache

from marshmallow import ValidationError, fields

from widget_server.domain.limits import MAX_AHEAD, MAX_AHEAD_TEXT
from widget_server.domain.partners import URL_MAX_LENGTH
from widget_server.domain.sponsors import NAME_MAX_LENGTH, SponsorInput
from widget_server.domain.text import Text, parse_rfc3339
from widget_server.models.types import utcnow


class AwareDateTime(fields.AwareDateTime):
    """RFC 3339 with an offset (or Z), converted to UTC, within the window every time we are
    told about must be in: from now to `MAX_AHEAD` from now (the order of a trip's deadline,
    departures and event is checked by the domain, `domain/catalog.py`)."""

    def __init__(self, *, past: bool = False, **kwargs):
        # past=True: also up to MAX_AHEAD back (a promo code or a price step already started).
        self.past = past
        window = f"{MAX_AHEAD_TEXT} ago" if past else "now"
        metadata = {
            "description": f"RFC 3339 with an offset; from {window} to {MAX_AHEAD_TEXT} ahead.",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(format="iso", metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("must be a string such as 2026-12-20T19:00:00Z")
        try:
            moment = parse_rfc3339(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        now = utcnow()
        if self.past and moment < now - MAX_AHEAD:
            raise ValidationError(f"must be at most {MAX_AHEAD_TEXT} ago")
        if not self.past and moment < now:
            raise ValidationError("must not be in the past")
        if moment > now + MAX_AHEAD:
            raise ValidationError(f"must be at most {MAX_AHEAD_TEXT} from now")
        return moment


@cache
def time_zone_names() -> frozenset[str]:
    """Every IANA time zone name this server knows: exactly what `TimeZone` accepts (and the
    `enum` the OpenAPI document lists)."""
    return frozenset(zoneinfo.available_timezones())


class TimeZone(Text):
    """An IANA time zone name such as America/Chicago."""

    def __init__(self, **kwargs):
        super().__init__(max_length=64, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        name = super()._deserialize(value, attr, data, **kwargs)
        if name not in time_zone_names():
            raise ValidationError("must be an IANA time zone such as America/Chicago")
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


class Sponsor(fields.Field):
    """`{"name", "url"}` (`domain.sponsors.SponsorInput`) or null (no sponsor). Described
    inline, so OpenAPI says "an object with a required name, or null" exactly (a nullable
    nested schema reference cannot say both in OpenAPI 3.0)."""

    def __init__(self, **kwargs):
        from widget_server.api.openapi import text_pattern  # (it imports this module)

        metadata = {
            "type": "object",
            "nullable": True,
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": NAME_MAX_LENGTH,
                    "pattern": text_pattern(multiline=False, min_length=1),
                },
                "url": {
                    "type": "string",
                    "nullable": True,
                    "maxLength": URL_MAX_LENGTH,
                    "pattern": text_pattern(multiline=False, min_length=0),
                    "description": "https only.",
                },
            },
            **kwargs.pop("metadata", {}),
        }
        super().__init__(allow_none=True, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("must be an object with `name` (and `url`), or null")
        return SponsorInput().load(value)
