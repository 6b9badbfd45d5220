"""Input field types shared by the API schemas."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, timedelta
from functools import cache

from marshmallow import ValidationError, fields

from widget_server.domain.text import Text
from widget_server.models.types import utcnow

# RFC 3339 section 5.6: full-date "T" full-time, with "Z" or a numeric offset, nothing else
# (Python's fromisoformat also takes dates alone, week dates, "20261220T1900" and more).
_RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]{1,9}))?(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
# How far ahead a time we are told about may be: events are sold months, not decades, ahead.
MAX_AHEAD = timedelta(days=5 * 366)
MAX_AHEAD_TEXT = "5 years"


def parse_rfc3339(value: str) -> datetime:
    """An RFC 3339 date-time with an offset, as an aware UTC datetime; ValueError otherwise
    (also for times that exist in no calendar or fall outside years 1-9999 in UTC)."""
    match = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("must be an RFC 3339 date-time with an offset, like 2026-12-20T19:00:00Z")
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    offset = "+00:00" if match["offset"] in "Zz" else match["offset"]
    try:
        moment = datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}{offset}")
    except ValueError:
        raise ValueError("is not a real date and time (check the day, hour and offset)") from None
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # before year 1 or after year 9999 once in UTC
        raise ValueError("is outside the years 0001-9999 in UTC") from None


class AwareDateTime(fields.AwareDateTime):
    """RFC 3339 with an offset (or Z), converted to UTC, within the window every time we are
    told about must be in: from now to `MAX_AHEAD` from now (the order of a trip's deadline,
    departures and event is checked by the domain, `domain/catalog.py`)."""

    def __init__(self, **kwargs):
        metadata = {
            "description": f"RFC 3339 with an offset; from now to {MAX_AHEAD_TEXT} ahead.",
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
        if moment < now:
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
