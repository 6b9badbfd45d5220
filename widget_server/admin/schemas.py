"""Reading console forms: flat form fields (`stops.0.name`) into the nested values the domain
takes, through domain.text's input rules. Times are typed as wall-clock times in the event's
time zone (what an organiser thinks in) and handed on in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.numbers import get_currency_precision
from marshmallow import Schema, ValidationError, fields, validate

from widget_server.domain.branding import WORDING_KEYS
from widget_server.domain.errors import ValidationFailed, field_errors
from widget_server.domain.limits import MAX_AHEAD, MAX_AHEAD_TEXT
from widget_server.domain.numbers import minor_units
from widget_server.domain.text import Email, Phone, Text
from widget_server.i18n import SUPPORTED_LOCALES
from widget_server.models.types import utcnow

MAX_STOPS = 8
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class LocalDateTime(fields.Field):
    """`2030-11-14T19:00` (an <input type=datetime-local>) in `zone`, returned in UTC."""

    def __init__(self, zone: ZoneInfo, **kwargs):
        self.zone = zone
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("must be a date and time")
        try:
            moment = datetime.strptime(value.strip()[:16], LOCAL_FORMAT)
            moment = moment.replace(tzinfo=self.zone).astimezone(UTC)
        except ValueError:
            raise ValidationError("must be a date and time such as 2030-11-14T19:00") from None
        except OverflowError:  # year 1 east of UTC, year 9999 west of it
            raise ValidationError(f"must be within {MAX_AHEAD_TEXT} of today") from None
        # The API's window ahead (`api.fields.AwareDateTime`), and as far back: a time kept
        # from an event already past still saves, a year-0001 one (which no zone can show
        # without overflowing) does not.
        now = utcnow()
        if not now - MAX_AHEAD <= moment <= now + MAX_AHEAD:
            raise ValidationError(f"must be within {MAX_AHEAD_TEXT} of today")
        return moment


def local_input(moment: datetime | None, zone_name: str) -> str:
    """A UTC moment as the value of a datetime-local input in the event's zone."""
    return moment.astimezone(ZoneInfo(zone_name)).strftime(LOCAL_FORMAT) if moment else ""


# The areas of the IANA names the event form offers (not the legacy `US/Central`, `EST5EDT`,
# `Etc/GMT+5` aliases, nor the system's `localtime` and `posixrules` files).
ZONE_AREAS = (
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


@lru_cache(maxsize=1)
def zone_choices() -> dict[str, tuple[str, ...]]:
    """The event form's time zones by area ("America": ("America/Adak", ...)), and UTC."""
    areas: dict[str, list[str]] = {area: [] for area in ZONE_AREAS}
    for name in available_timezones():
        area = name.split("/", 1)[0]
        if "/" in name and area in areas:
            areas[area].append(name)
    return {"UTC": ("UTC",)} | {area: tuple(sorted(names)) for area, names in areas.items()}


def is_offered_zone(name: str) -> bool:
    return any(name in names for names in zone_choices().values())


def zone_or_error(name: str, *, current: str | None = None) -> ZoneInfo:
    """The zone chosen in the picker: one it offers, or the event's `current` one."""
    if not (is_offered_zone(name) or (current and name == current)):
        raise ValidationFailed.field(
            "timezone", "must be an IANA time zone such as America/Chicago"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed.field(
            "timezone", "must be an IANA time zone such as America/Chicago"
        ) from None


def _load(schema: Schema, form) -> dict:
    """Form fields (blank ones left out, so they count as not given) through `schema`."""
    flat = {key: value for key, value in form.items() if key != "csrf_token" and value.strip()}
    nested: dict = {}
    for key, value in flat.items():
        target = nested
        parts = key.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    if isinstance(nested.get("stops"), dict):
        nested["stops"] = [nested["stops"][k] for k in sorted(nested["stops"], key=int)]
    try:
        return schema.load(nested, unknown="exclude")
    except ValidationError as exc:
        errors = field_errors(exc.messages)
        raise ValidationFailed("some fields are missing or invalid", errors=errors) from None


def read_event(form, *, current_zone: str | None = None) -> dict:
    """title, venue, starts_at (UTC), timezone (one the picker offers, or `current_zone`, the
    edited event's own)."""
    zone_name = (form.get("timezone") or "").strip()
    zone = zone_or_error(zone_name, current=current_zone)

    class EventInput(Schema):
        title = Text(required=True, max_length=200)
        venue = Text(required=True, max_length=200)
        starts_at = LocalDateTime(zone, required=True)
        timezone = Text(required=True, max_length=64)

    return _load(EventInput(), form)


def read_trip(form, *, timezone: str, currency: str) -> dict:
    """The keyword arguments of catalog.create_trip / the changes of update_trip."""
    zone = ZoneInfo(timezone)

    class OriginInput(Schema):
        name = Text(required=True, max_length=200)
        region = Text(max_length=200, load_default=None)

    class StopInput(Schema):
        name = Text(required=True, max_length=200)
        address = Text(required=True, max_length=500)
        departs_at = LocalDateTime(zone, required=True)

    class OperatorInput(Schema):
        name = Text(max_length=200, load_default=None)
        phone = Phone(load_default=None)
        email = Email(load_default=None)

    class TripInput(Schema):
        origin = fields.Nested(OriginInput, required=True)
        stops = fields.List(
            fields.Nested(StopInput), required=True, validate=validate.Length(1, MAX_STOPS)
        )
        capacity = fields.Integer(required=True, validate=validate.Range(1, 1000))
        min_riders = fields.Integer(required=True, validate=validate.Range(1, 1000))
        price = Text(required=True, max_length=20)
        pledge_deadline = LocalDateTime(zone, required=True)
        operator = fields.Nested(OperatorInput, load_default=dict)

    data = _load(TripInput(), form)
    data["unit_amount"] = minor_units(data.pop("price"), currency)
    data["currency"] = currency
    return data


def price_input(unit_amount: int, currency: str) -> str:
    digits = get_currency_precision(currency)
    return f"{Decimal(unit_amount).scaleb(-digits):.{digits}f}"


BRANDING_TEXT = ("primary_color", "accent_color", "background_color", "text_color")


def read_partner_settings(form) -> dict:
    """The branding page's fields as update_partner changes (it checks what they mean)."""

    class BrandingInput(Schema):
        primary_color = Text(required=True, max_length=7)
        accent_color = Text(required=True, max_length=7)
        background_color = Text(required=True, max_length=7)
        text_color = Text(required=True, max_length=7)
        font_family = Text(required=True, max_length=40)
        corner_radius = fields.Integer(required=True)
        logo_url = Text(max_length=2000, load_default=None)
        color_scheme = Text(required=True, max_length=10)

    class WordsInput(Schema):
        headline = Text(max_length=WORDING_KEYS["headline"], load_default=None)
        intro = Text(max_length=WORDING_KEYS["intro"], load_default=None)

    class WordingInput(Schema):
        en = fields.Nested(WordsInput, load_default=dict)
        es = fields.Nested(WordsInput, load_default=dict)
        fr = fields.Nested(WordsInput, load_default=dict)

    class SettingsInput(Schema):
        branding = fields.Nested(BrandingInput, required=True)
        wording = fields.Nested(WordingInput, load_default=lambda: WordingInput().load({}))
        locale = Text(required=True, max_length=8)
        currency = Text(required=True, max_length=3)
        support_email = Email(load_default=None)
        terms_url = Text(max_length=2000, load_default=None)
        site_url = Text(max_length=2000, load_default=None)
        allowed_origins = Text(max_length=5000, multiline=True, load_default="")

    data = _load(SettingsInput(), form)
    data["currency"] = data["currency"].upper()
    # Every language's words, a blank one as null: the form says all of them, so a field
    # emptied in the form goes back to the product's own words.
    data["wording"] = {
        language: {key: data["wording"][language].get(key) for key in WORDING_KEYS}
        for language in SUPPORTED_LOCALES
    }
    data["allowed_origins"] = [
        line.strip() for line in data["allowed_origins"].split("\n") if line.strip()
    ]
    return data


def read_branding(form) -> dict:
    """Only the branding of the form (for the live preview); nothing required."""
    branding = {}
    for key in (*BRANDING_TEXT, "font_family", "color_scheme", "logo_url"):
        value = form.get(f"branding.{key}", "")
        if isinstance(value, str) and value.strip() and len(value) <= 2000:
            branding[key] = value.strip()
    radius = form.get("branding.corner_radius", "")
    if isinstance(radius, str) and radius.strip().isdigit():
        branding["corner_radius"] = int(radius)
    return branding


def read_wording(form) -> dict:
    """Only the wording of the form (for the live preview); the preview keeps what the text
    rules accept."""
    return {
        language: {key: form.get(f"wording.{language}.{key}", "") for key in WORDING_KEYS}
        for language in SUPPORTED_LOCALES
    }
