"""The email with a trip's driver link, to the bus operator, in the partner's language.

The outbox row holds the trip and the link generation only; the link is signed here, at send
time. If a newer link was issued (or the links revoked) since the email was queued, the email
is not sent: it would carry a link that no longer works.
"""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from widget_server.domain.checkin import current_driver_link, driver_url
from widget_server.models import OutboundEmail, Trip
from widget_server.notifications.errors import Undeliverable
from widget_server.notifications.render import (
    RenderedEmail,
    _tidy_text,
    email_locale,
    format_event_time,
)


def render_driver_link_email(email: OutboundEmail, trip: Trip | None) -> RenderedEmail:
    """The `driver_link` email for `trip`. Needs an app context."""
    if trip is None:
        raise Undeliverable("the trip this email is about no longer exists")
    link = current_driver_link(trip)
    if link is None or link.generation != (email.context or {}).get("generation"):
        raise Undeliverable("a newer driver link was issued, or the links were revoked")
    settings = current_app.config["SETTINGS"]
    url = driver_url(settings.public_base_url, settings.secret_key, link)
    locale = email_locale(email.locale)
    event = trip.event
    with force_locale(locale):
        subject = _("Driver check-in link: %(event)s", event=event.title)
        context = {
            "lang": locale,
            "subject": subject,
            "link": url,
            "partner_name": event.partner.name,
            "event_title": event.title,
            "origin": trip.origin_name,
            "departs": format_event_time(trip.stops[0].departs_at, event.timezone, locale),
            "expires": format_event_time(link.expires_at, event.timezone, locale),
        }
        text = render_template("admin/emails/driver_link.txt", **context)
        html = render_template("admin/emails/driver_link.html", **context)
    return RenderedEmail(subject=subject, text=_tidy_text(text), html=html, locale=locale)
