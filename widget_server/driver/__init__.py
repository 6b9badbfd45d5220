"""Owns the driver face: the check-in page (`/d/<token>`), a signed, expiring link per trip.

The page (phone first) shows the manifest per stop, finds riders by name, and checks them in by
typed code, scanned QR or a tap on the name; `embed/driver.js` keeps the manifest and a queue of
check-ins in localStorage so it keeps working offline, and `embed/driver-sw.js` (a service
worker at `/d/sw.js`) keeps the page itself, so a cold reload offline still shows it. Its JSON
endpoints (`/d/<token>/manifest`, `/d/<token>/checkins`, `/d/<token>/undo`,
`/d/<token>/stops/<stop_id>/call` and `/departure`: "ready to leave this stop") answer
problem+json. The rules are in `domain/checkin.py` and `domain/departures.py`.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from marshmallow import Schema, ValidationError, fields

from widget_server.domain import checkin, departures
from widget_server.domain.errors import DomainError, NotFound, ValidationFailed
from widget_server.domain.manifest import build_manifest
from widget_server.domain.text import Text, parse_rfc3339
from widget_server.extensions import db, limiter
from widget_server.fan.assets import asset_url, read_asset
from widget_server.fan.security import CrossSiteRefused, cross_site_request
from widget_server.fan.theme import widget_theme
from widget_server.i18n import bus_leaving_words, format_local, plural_categories
from widget_server.models import Trip
from widget_server.models.types import rfc3339, utcnow
from widget_server.security_headers import PERMISSIONS_POLICY, csp_nonce

bp = Blueprint("driver", __name__, url_prefix="/d/<token>")
# The service worker lives at /d/sw.js so that its scope (/d/) covers every driver page.
worker_bp = Blueprint("driver_worker", __name__)
SERVICE_WORKER = "driver-sw.js"


@worker_bp.get("/d/sw.js")
def service_worker():
    """The driver page's service worker (`embed/driver-sw.js`): revalidated at every load, so a
    new version reaches phones at once."""
    response = Response(read_asset(SERVICE_WORKER), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = "default-src 'self'"
    return response


class LinkEnded(NotFound):
    title = "Link ended"
    type = "driver-link-ended"


@bp.url_value_preprocessor
def _load_trip(_endpoint, values):
    token = values.pop("token")
    if request.method == "OPTIONS":
        return  # Flask's automatic answer (Allow) tells nothing about the link or the trip
    link = checkin.read_driver_token(current_app.config["SECRET_KEY"], token)
    trip = db.session.get(Trip, link.trip_id) if link else None
    if trip is None:
        raise NotFound(_("This driver link is not valid; check it was copied whole."))
    if not checkin.link_is_live(link, trip):
        raise LinkEnded(_("This driver link has ended. Ask the organiser for the new one."))
    g.trip, g.token, g.link = trip, token, link
    g.partner = trip.event.partner
    g.partner_locale = g.partner.locale


@bp.after_request
def _headers(response):
    # Its own page: never framed, scripts and styles only from us, the camera for scanning.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'nonce-"
        + g.get("csp_nonce", "none")
        + "'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    # Every other browser feature stays off; the camera only where the live page scans codes
    # (an invalid or ended link's error page gets none).
    policy = PERMISSIONS_POLICY
    if "link" in g and response.status_code < 400 and response.mimetype == "text/html":
        policy = policy.replace("camera=()", "camera=(self)")
    response.headers["Permissions-Policy"] = policy
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _plain_spaces(text: str) -> str:
    # CLDR puts narrow and no-break spaces in times ("7:05\u202fPM"); driver.js makes the same
    # plain, so the page reads the same before and after its script runs.
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def _time_label(moment) -> str:
    """A time on the driver page: the event's zone, the language's short time format (the
    format driver.js uses for the times it shows, `localTime`)."""
    from zoneinfo import ZoneInfo

    from babel.dates import format_time
    from flask_babel import get_locale

    if isinstance(moment, str):
        moment = parse_rfc3339(moment)
    zone = ZoneInfo(g.trip.event.timezone)
    return _plain_spaces(format_time(moment, "short", tzinfo=zone, locale=str(get_locale())))


def _datetime_label(moment) -> str:
    """A date and time on the driver page: the event's zone, the language's short format."""
    return _plain_spaces(format_local(moment, g.trip.event.timezone, "short"))


def _manifest() -> dict:
    """The driver's manifest: riders without their email, paid ones with their code; each stop
    with its departure as the page shows it (`departs_label`)."""
    data = build_manifest(db.session, g.trip, secret=current_app.config["SECRET_KEY"])
    days = departures.departures_of(db.session, g.trip.id)
    for stop, trip_stop in zip(data["stops"], g.trip.stops, strict=True):
        stop["departs_label"] = _datetime_label(trip_stop.departs_at)
        # "Ready to leave": the stop's message (sent or not) and departure, and the prefilled
        # message in the partner's language for the driver to edit.
        day = departures.stop_state(days.get(trip_stop.id))
        stop.update({key: day[key] for key in ("called_at", "call_recipients", "departed_at")})
        stop["leaving_message"] = bus_leaving_words(trip_stop.name, departures.CALL_MINUTES)
        for rider in stop["riders"]:
            rider.pop("email", None)
    data["origin"] = g.trip.origin_name
    # When the server made it: the page keeps the newest copy it has seen (driver.js).
    data["generated_at"] = rfc3339(utcnow())
    return data


def _texts() -> dict:
    """The page's words, in the partner's language (filled in by driver.js)."""
    return {
        "ok": _("OK: let them board"),
        "ok_offline": _("OK (offline): let them board; it will be sent when back online"),
        "already_boarded": _("Already boarded at {time} by {device}"),
        "double_boarded": _("Boarded on two devices: check with the other phone"),
        "not_paid": _("Not paid: do not board"),
        "canceled": _("Canceled: do not board"),
        "other_trip": _("Other bus: this pass is for another trip"),
        "unknown": _("Unknown code: check it and try again"),
        "queued": _("Saved offline: it will be checked when back online"),
        "code_end": _("code …{tail}"),
        "undo": _("Undo check-in"),
        "confirm_undo": _("Undo the check-in of {name}? They can then be checked in again."),
        "undone": _("Check-in undone: {name} can be checked in again"),
        "undo_offline": _("Undoing a check-in that was sent needs the network."),
        "undo_failed": _("The check-in could not be undone; reload the page and try again."),
        "refused_link": _(
            "Not sent: this driver link was replaced. Open the new link from the organiser on"
            " this phone; it will be sent from there."
        ),
        "refused_clock": _("Refused: this phone's clock looks wrong (the check-in says {time})."),
        "refused_other": _("Refused: {detail}"),
        "fix_time": _("Send with the corrected time ({time})"),
        "send_again": _("Send again"),
        "discard": _("Discard"),
        "confirm_discard": _("Discard this check-in? The rider will not count as boarded."),
        "dismiss": _("Seen"),
        "ready_to_leave": _("Ready to leave this stop"),
        "not_boarded": plural_categories(
            lambda n: ngettext("{count} rider not boarded yet", "{count} riders not boarded yet", n)
        ),
        "message_label": _("Message to the riders not boarded yet"),
        "send_message": _("Send the message"),
        "message_sent": plural_categories(
            lambda n: ngettext(
                "Message sent at {time} to {count} rider",
                "Message sent at {time} to {count} riders",
                n,
            )
        ),
        "message_offline": _("Sending the message needs the network."),
        "message_failed": _("The message was not sent: {detail}"),
        "leave": _("Leave this stop"),
        "confirm_leave": _("Leave {stop} now? Riders not boarded yet will be left behind."),
        "left": _("Left at {time}"),
        "left_offline": _("Left at {time} (saved offline: it will be sent when back online)"),
        # By plural category (driver.js picks one with Intl.PluralRules).
        "seats": plural_categories(lambda n: ngettext("{seats} seat", "{seats} seats", n)),
        "stop_count": plural_categories(
            lambda n: ngettext(
                "{boarded} of {seats} seat boarded", "{boarded} of {seats} seats boarded", n
            )
        ),
        "total": plural_categories(
            lambda n: ngettext(
                "{boarded} of {seats} seat boarded in all",
                "{boarded} of {seats} seats boarded in all",
                n,
            )
        ),
        "pending": plural_categories(
            lambda n: ngettext(
                "{count} check-in waiting to be sent", "{count} check-ins waiting to be sent", n
            )
        ),
        "offline": _("Offline: check-ins are saved on this phone"),
        "online": _("Online"),
        "boarded": _("Boarded"),
        "check_in": _("Check in"),
        "no_riders": _("Nobody at this stop."),
        "no_match": _("No rider matches this name."),
        "camera_failed": _("The camera could not be started; type the code instead."),
        "no_qr": _("No QR code found in the picture."),
        "status": {
            "paid": _("Paid"),
            "pledged": _("Not paid"),
            "charging": _("Not paid"),
            "action_required": _("Not paid"),
        },
    }


@bp.get("")
def page():
    """The check-in page."""
    trip = g.trip
    manifest = _manifest()
    data = {
        "trip_id": trip.id,
        "manifest_url": f"/d/{g.token}/manifest",
        "service_worker": url_for("driver_worker.service_worker"),
        "checkins_url": f"/d/{g.token}/checkins",
        "undo_url": f"/d/{g.token}/undo",
        "stops_url": f"/d/{g.token}/stops",
        # Queued check-ins remember the link they were made under (`made_under`).
        "link": g.token,
        "manifest": manifest,
        "texts": _texts(),
        "timezone": trip.event.timezone,
    }
    return render_template(
        "driver/page.html",
        trip=trip,
        event=trip.event,
        partner=g.partner,
        manifest=manifest,
        theme=widget_theme(g.partner.branding or {}),
        asset_url=asset_url,
        csp_nonce=csp_nonce(),
        page_data=data,
        expires_at=g.link.expires_at,
        time_label=_time_label,
        datetime_label=_datetime_label,
    )


@bp.get("/manifest")
def manifest():
    """The manifest as JSON (the page refreshes its offline copy from it)."""
    return _manifest()


class HappenedAt(fields.Field):
    """When the device saw the boarding: RFC 3339 with an offset, in UTC. Unlike the API's
    `AwareDateTime` it may be in the past (an offline queue sends it later); the domain refuses
    one in the future or before the link it was made under (`checkin.check_time`)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("must be a string such as 2026-12-20T19:00:00Z")
        try:
            return parse_rfc3339(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class DeviceInput(Schema):
    device = Text(max_length=60, load_default=None)
    device_id = fields.UUID(
        load_default=None, metadata={"description": "Made by the phone once, kept on it."}
    )


class QueuedInput(DeviceInput):
    """What the page may have queued offline: made once on the device, at its time, maybe
    under a link since replaced."""

    id = fields.UUID(required=True, metadata={"description": "Made by the device, once."})
    at = HappenedAt(required=True)
    made_under = Text(
        max_length=200,
        load_default=None,
        metadata={"description": "The token of the earlier link it was queued under."},
    )


class CheckInInput(QueuedInput):
    code = Text(max_length=40, load_default=None)
    pledge_id = Text(max_length=40, load_default=None)


class UndoInput(DeviceInput):
    pledge_id = Text(max_length=40, required=True)


class CallInput(DeviceInput):
    message = Text(
        max_length=500,
        multiline=True,
        load_default=None,
        metadata={"description": "The driver's words; absent or unchanged: the prefilled one."},
    )


def _load(schema: Schema) -> dict:
    if cross_site_request():
        raise CrossSiteRefused("check-ins come from the driver's page")
    try:
        return schema.load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        raise ValidationFailed("some fields are missing or invalid", errors=exc.messages) from exc


def _made_under(data: dict) -> checkin.DriverLink:
    """The link a queued item was made under: the live one, or the earlier one it names."""
    if data["made_under"] and data["made_under"] != g.token:
        return checkin.replaced_link(current_app.config["SECRET_KEY"], data["made_under"], g.link)
    return g.link


def _checkin_limit() -> str:
    return current_app.config.get("RATELIMIT_DRIVER", "600 per minute")


@bp.post("/checkins")
@limiter.limit(_checkin_limit)
def checkins():
    """One check-in: `{"code" | "pledge_id", "id", "at", "device", "device_id", "made_under"}`
    -> `{"result": ...}`."""
    data = _load(CheckInInput())
    with db.transaction() as session:
        return checkin.check_in(
            session,
            current_app.config["SECRET_KEY"],
            g.trip,
            client_id=str(data["id"]),
            happened_at=data["at"],
            device=data["device"] or "device",
            device_id=str(data["device_id"]) if data["device_id"] else None,
            link=_made_under(data),
            code=data["code"],
            pledge_id=data["pledge_id"],
            now=utcnow(),
        )


@bp.post("/undo")
@limiter.limit(_checkin_limit)
def undo():
    """Undo a boarding: `{"pledge_id", "device", "device_id"}` -> `{"pledge": ..., "undone"}`."""
    data = _load(UndoInput())
    with db.transaction() as session:
        return checkin.undo_boarding(
            session,
            g.trip,
            data["pledge_id"],
            device=data["device"] or "device",
            device_id=str(data["device_id"]) if data["device_id"] else None,
            now=utcnow(),
        )


def _call_limit() -> str:
    return current_app.config.get("RATELIMIT_DRIVER_CALL", "10 per minute;30 per hour")


def _stop_of(stop_id: str):
    stop = next((s for s in g.trip.stops if s.id == stop_id), None)
    if stop is None:
        raise NotFound(_("There is no such stop on this trip."))
    return stop


@bp.post("/stops/<stop_id>/call")
@limiter.limit(_call_limit)
def call_riders(stop_id: str):
    """ "Ready to leave": the one message to the stop's riders not yet boarded,
    `{"message", "device", "device_id"}` -> the stop's day (`called_at`, `call_recipients`)."""
    data = _load(CallInput())
    stop = _stop_of(stop_id)
    message = data["message"]
    if not message or " ".join(message.split()) == bus_leaving_words(
        stop.name, departures.CALL_MINUTES
    ):
        message = None  # unchanged: each rider gets it in their own language
    with db.transaction() as session:
        return departures.call_riders(
            session, g.trip, stop.id, message=message, device=data["device"] or "device"
        )


@bp.post("/stops/<stop_id>/departure")
@limiter.limit(_checkin_limit)
def leave_stop(stop_id: str):
    """The bus leaves the stop: `{"id", "at", "device", "device_id", "made_under"}` -> the
    stop's day and `trip_departed_at` (set when this was the last stop). Sent again: the same
    answer."""
    data = _load(QueuedInput())
    stop = _stop_of(stop_id)
    with db.transaction() as session:
        return departures.leave_stop(
            session,
            g.trip,
            stop.id,
            client_id=str(data["id"]),
            happened_at=data["at"],
            device=data["device"] or "device",
            link=_made_under(data),
            now=utcnow(),
        )


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    from widget_server.problems import is_api_path, problem

    if is_api_path(request.path):
        return problem(exc.status, exc.title, exc.detail, type_=exc.type, errors=exc.errors or None)
    page = render_template("error.html", status=exc.status, title=exc.title, detail=exc.detail)
    return page, exc.status
