"""Rendering a fan email: subject, plain text and html, in the fan's language.

The values come from the pledge, its trip, stop, event and partner as they are at send time,
except what the outbox row froze when the email was queued (`context`: the charge `error`, and
optionally `amount` in minor units). Dates are shown in the event's time zone, in the fan's
locale; amounts in the pledge's currency with that currency's number of decimals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_datetime_format, get_timezone_name
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from widget_server.domain.boarding import boarding_code_or_none, qr_png
from widget_server.domain.branding import (
    DEFAULT_BRANDING,
    HEX_COLOR,
    SAFE_FONTS,
    normalize_hex,
    readable_text_on,
)
from widget_server.fan.links import boarding_url, manage_url, open_share_link, share_hint
from widget_server.i18n import SUPPORTED_LOCALES, bus_leaving_words, format_money
from widget_server.models import OutboundEmail, Pledge
from widget_server.models.notifications import STOP_REQUEST_EMAIL_KINDS
from widget_server.notifications.errors import Undeliverable

# One subject per kind of models.notifications.EMAIL_KINDS, translated when called (inside
# force_locale).
SUBJECTS: dict[str, Callable[[dict], str]] = {
    "pledge_received": lambda c: _("Pledge received: %(event)s", event=c["event_title"]),
    "pledge_paid": lambda c: _("Your bus to %(event)s is confirmed", event=c["event_title"]),
    "trip_failed": lambda c: _("The bus to %(event)s will not run", event=c["event_title"]),
    "action_required": lambda c: _(
        "Action needed to keep your seat for %(event)s", event=c["event_title"]
    ),
    "pledge_dropped": lambda c: _("Your seat for %(event)s was released", event=c["event_title"]),
    "pledge_refunded": lambda c: _("Refund for your bus to %(event)s", event=c["event_title"]),
    "pledge_canceled": lambda c: _(
        "Your pledge for %(event)s is withdrawn", event=c["event_title"]
    ),
    "trip_canceled": lambda c: _("The bus to %(event)s is canceled", event=c["event_title"]),
    "stop_added": lambda c: _(
        "The stop you asked for on the bus to %(event)s is added", event=c["event_title"]
    ),
    "stop_added_asked": lambda c: _(
        "The stop you asked for on the bus to %(event)s is added", event=c["event_title"]
    ),
    "waitlist_joined": lambda c: _("You are on the waitlist for %(event)s", event=c["event_title"]),
    "waitlist_offer": lambda c: _("Seats for %(event)s are held for you", event=c["event_title"]),
    "manage_link": lambda c: _("Your link for the bus to %(event)s", event=c["event_title"]),
    "bus_leaving": lambda c: _(
        "Your bus to %(event)s leaves %(stop)s soon", event=c["event_title"], stop=c["stop_name"]
    ),
}

# The label of the link to the manage page, where it leads the fan to act.
BUTTONS: dict[str, Callable[[], str]] = {
    "pledge_received": lambda: _("Manage my pledge"),
    "manage_link": lambda: _("Manage my pledge"),
    "action_required": lambda: _("Update my card"),
    "stop_added": lambda: _("Change my pick-up stop"),
    "stop_added_asked": lambda: _("Pledge seats from this stop"),
    "waitlist_joined": lambda: _("See my place in line"),
    "waitlist_offer": lambda: _("Take my seats"),
}


def button_label(kind: str) -> str:
    return BUTTONS[kind]() if kind in BUTTONS else _("See my pledge")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    locale: str
    # Images the html shows by `cid:` (the boarding pass QR): Content-ID -> PNG bytes.
    images: dict[str, bytes] = field(default_factory=dict)


QR_CID = "boarding-qr"


def email_locale(locale: str | None) -> str:
    """The fan's locale if we speak it, English otherwise."""
    return locale if locale in SUPPORTED_LOCALES else "en"


def format_event_time(moment: datetime, timezone: str, locale: str) -> str:
    """A UTC moment in the event's time zone, written the locale's way with the zone's name:
    "Thursday, November 14, 2030, 7:00 PM (Central Standard Time)"."""
    zone = ZoneInfo(timezone)
    local = moment.astimezone(zone)
    date = format_date(local, "full", locale=locale)
    time = format_time(local, "short", tzinfo=zone, locale=locale)
    # The locale's own way to join a date and a time, e.g. "{1}, {0}" ("'at'" quoting removed).
    joined = get_datetime_format("long", locale=locale).replace("'", "")
    moment_text = joined.replace("{0}", time).replace("{1}", date)
    return f"{moment_text} ({get_timezone_name(local, 'long', locale=locale)})"


def _color(value: object, default: str) -> str:
    """A branding colour, re-checked here because it lands inside a style attribute."""
    return normalize_hex(value) if isinstance(value, str) and HEX_COLOR.match(value) else default


def _new_stop(trip, stop_id: str | None, when) -> dict | None:
    """The stop a `stop_added` email announces: name, address and departure."""
    stop = next((s for s in trip.stops if s.id == stop_id), None) if stop_id else None
    if stop is None:
        return None
    return {"name": stop.name, "address": stop.address, "departs": when(stop.departs_at)}


def email_context(email: OutboundEmail, pledge: Pledge, locale: str) -> dict:
    """Everything the templates show, formatted for `locale`."""
    trip, stop = pledge.trip, pledge.stop
    event = trip.event
    partner = event.partner
    frozen = email.context or {}

    def when(moment: datetime | None) -> str | None:
        return format_event_time(moment, event.timezone, locale) if moment else None

    branding = partner.branding or {}
    primary = _color(branding.get("primary_color"), DEFAULT_BRANDING["primary_color"])
    return {
        "lang": locale,
        "fan_name": pledge.name,
        "partner_name": partner.name,
        "support_email": partner.support_email,
        "event_title": event.title,
        "venue": event.venue,
        "event_starts": when(event.starts_at),
        "origin": trip.origin_name,
        "stop_name": stop.name,
        "stop_address": stop.address,
        "stop_departs": when(stop.departs_at),
        "seats": pledge.seats,
        "amount": format_money(int(frozen.get("amount", pledge.amount)), pledge.currency, locale),
        "min_riders": trip.min_riders,
        "pledge_deadline": when(trip.pledge_deadline),
        "grace_deadline": when(pledge.grace_expires_at),
        "error": frozen.get("error") or pledge.last_payment_error,
        "new_stop": _new_stop(trip, frozen.get("new_stop_id"), when),
        # The driver's "ready to leave" message: their own words, or None for ours.
        "driver_message": frozen.get("message"),
        "leaving_words": bus_leaving_words(stop.name, int(frozen.get("minutes", 5))),
        "was_paid": pledge.paid_at is not None,
        # Pledged on a bus that was already running (or that this pledge confirmed): no
        # "pledge received" email went out (domain.notify.queue_pledge_received), so the
        # charge's email is the first word about the pledge.
        "joined_running": trip.confirmed_at is not None and pledge.created_at >= trip.confirmed_at,
        "operator_name": trip.operator_name,
        "operator_phone": trip.operator_phone,
        "manage_url": manage_url(partner.slug, pledge.id),
        "share_url": open_share_link(partner, pledge),
        "share_hint": share_hint(trip),
        "boarding_code": boarding_code_or_none(current_app.config["SECRET_KEY"], pledge),
        "boarding_url": boarding_url(partner.slug, pledge.id),
        "qr_cid": QR_CID,
        "primary_color": primary,
        "on_primary_color": readable_text_on(primary),
        "font_stack": SAFE_FONTS.get(branding.get("font_family"), SAFE_FONTS["system-ui"]),
    }


def _tidy_text(text: str) -> str:
    """Plain text without the blank lines and trailing spaces template tags leave behind."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy) + "\n"


def _trip_context(trip, locale: str) -> tuple[dict, Callable[[datetime | None], str | None]]:
    """What every email about `trip` shows (the game, the partner, its colours), and the
    function writing a time in the event's zone for `locale`."""
    event = trip.event
    partner = event.partner
    branding = partner.branding or {}
    primary = _color(branding.get("primary_color"), DEFAULT_BRANDING["primary_color"])

    def when(moment: datetime | None) -> str | None:
        return format_event_time(moment, event.timezone, locale) if moment else None

    context = {
        "lang": locale,
        "partner_name": partner.name,
        "support_email": partner.support_email,
        "event_title": event.title,
        "venue": event.venue,
        "event_starts": when(event.starts_at),
        "origin": trip.origin_name,
        "primary_color": primary,
        "on_primary_color": readable_text_on(primary),
        "font_stack": SAFE_FONTS.get(branding.get("font_family"), SAFE_FONTS["system-ui"]),
    }
    return context, when


def waitlist_context(entry, locale: str) -> dict:
    """What the waitlist emails show: the entry, its trip and the offer's deadline."""
    from widget_server.fan.links import waitlist_url

    trip, stop = entry.trip, entry.stop
    context, when = _trip_context(trip, locale)
    return {
        **context,
        "fan_name": entry.name,
        "stop_name": stop.name,
        "stop_address": stop.address,
        "stop_departs": when(stop.departs_at),
        "seats": entry.seats,
        "amount": format_money(trip.unit_amount * entry.seats, trip.currency, locale),
        "offer_expires": when(entry.offer_expires_at),
        "manage_url": waitlist_url(trip.event.partner.slug, entry.id),
    }


def stop_request_context(email: OutboundEmail, request, locale: str) -> dict:
    """What the `stop_added_asked` email shows a fan who asked for a stop without pledging:
    the new stop, and the trip's public page with it chosen (its pledge button keeps it)."""
    trip = request.trip
    context, when = _trip_context(trip, locale)
    stop_id = (email.context or {}).get("new_stop_id")
    base = current_app.config["SETTINGS"].public_base_url
    query = urlencode({"stop": stop_id or "", "locale": locale})
    return {
        **context,
        "fan_name": "",
        "new_stop": _new_stop(trip, stop_id, when),
        "amount": format_money(trip.unit_amount, trip.currency, locale),
        "manage_url": f"{base}/t/{trip.event.partner.slug}/{trip.id}?{query}",
    }


def render_email(
    email: OutboundEmail, pledge: Pledge | None, *, entry=None, stop_request=None
) -> RenderedEmail:
    """The email `email` for `pledge` (or waitlist `entry`, or `stop_request` of a fan without
    a pledge), in the fan's language. Needs an app context."""
    if email.kind not in SUBJECTS:
        raise Undeliverable(f"unknown email kind {email.kind!r}")
    if email.kind in STOP_REQUEST_EMAIL_KINDS:
        if stop_request is None:
            raise Undeliverable("the stop request this email is about no longer exists")
        return _render(email, lambda locale: stop_request_context(email, stop_request, locale))
    if email.kind.startswith("waitlist_"):
        if entry is None:
            raise Undeliverable("the waitlist entry this email is about no longer exists")
        return _render(email, lambda locale: waitlist_context(entry, locale))
    if pledge is None:
        raise Undeliverable("the pledge this email is about no longer exists")
    rendered = _render(email, lambda locale: email_context(email, pledge, locale))
    code = boarding_code_or_none(current_app.config["SECRET_KEY"], pledge)
    if code and email.kind == "pledge_paid":
        rendered.images[QR_CID] = qr_png(code, scale=6)
    return rendered


def _render(email: OutboundEmail, context_for: Callable[[str], dict]) -> RenderedEmail:
    """Both bodies and the subject of `email` in the fan's language, from `context_for(locale)`."""
    locale = email_locale(email.locale)
    with force_locale(locale):
        context = context_for(locale)
        context["subject"] = subject = SUBJECTS[email.kind](context)
        context["button_label"] = button_label(email.kind)
        text = render_template(f"emails/{email.kind}.txt", **context)
        html = render_template(f"emails/{email.kind}.html", **context)
    return RenderedEmail(subject=subject, text=_tidy_text(text), html=html, locale=locale)
