"""News emails about buses: to an operator's people (`operator_news`: a request to quote, an
award, a trip's outcome, a payout) and to a partner's admins (`partner_news`: an operator
withdrew). The outbox row froze the news (`context`: "event_type", "data", "sender"); this
module writes it in the reader's language with a link to the page where they act.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from widget_server.domain.text import parse_rfc3339
from widget_server.i18n import format_money
from widget_server.models import OutboundEmail
from widget_server.notifications.errors import Undeliverable
from widget_server.notifications.render import (
    RenderedEmail,
    _tidy_text,
    email_locale,
    format_event_time,
)

# Per event type: the subject (given the event's title) and one sentence saying what happened
# and what to do (given the facts: partner, event, origin, operator). Translated when called.
NEWS: dict[str, tuple[Callable[[dict], str], Callable[[dict], str]]] = {
    "trip_request.created": (
        lambda f: _("New request to quote: %(event)s", **f),
        lambda f: _(
            "%(partner)s asks for a bus from %(origin)s to %(event)s. Send your quote from "
            "the operator portal.",
            **f,
        ),
    ),
    "quote.awarded": (
        lambda f: _("Your quote is accepted: %(event)s", **f),
        lambda f: _(
            "%(partner)s accepted your quote for the bus from %(origin)s to %(event)s. The "
            "trip is now in your trips: assign a vehicle and a driver.",
            **f,
        ),
    ),
    "quote.not_awarded": (
        lambda f: _("Another quote was chosen: %(event)s", **f),
        lambda f: _(
            "%(partner)s chose another quote for the bus from %(origin)s to %(event)s. Thank "
            "you for quoting; nothing more is needed from you.",
            **f,
        ),
    ),
    "trip.confirmed": (
        lambda f: _("Trip confirmed: %(event)s", **f),
        lambda f: _("Enough fans pledged: the bus from %(origin)s to %(event)s runs.", **f),
    ),
    "trip.failed": (
        lambda f: _("Trip will not run: %(event)s", **f),
        lambda f: _(
            "Not enough fans pledged in time: the bus from %(origin)s to %(event)s will not run.",
            **f,
        ),
    ),
    "trip.canceled": (
        lambda f: _("Trip canceled: %(event)s", **f),
        lambda f: _("%(partner)s canceled the bus from %(origin)s to %(event)s.", **f),
    ),
    "trip.completed": (
        lambda f: _("Trip completed: %(event)s", **f),
        lambda f: _("The bus from %(origin)s to %(event)s has completed its trip.", **f),
    ),
    "trip.departed": (
        lambda f: _("Bus departed: %(event)s", **f),
        lambda f: _("The bus from %(origin)s to %(event)s has left.", **f),
    ),
    "payout.paid": (
        lambda f: _("Payout sent: %(event)s", **f),
        lambda f: _("Your payout for the bus from %(origin)s to %(event)s is on its way.", **f),
    ),
    "trip.operator_withdrew": (
        lambda f: _("The bus company withdrew: %(event)s", **f),
        lambda f: _(
            "%(operator)s withdrew from the bus from %(origin)s to %(event)s. The request is "
            "open for quotes again; fans are not told anything until you act.",
            **f,
        ),
    ),
}

# Where the reader acts, per event type (paths under PUBLIC_BASE_URL).
_OPERATOR_PAGES = {"trip_request": "/operator/requests", "quote": "/operator/quotes"}


def news_link(email: OutboundEmail) -> str:
    """The page the email's button opens: the operator portal's page for the news, or the
    partner console's page of the request."""
    base = current_app.config["SETTINGS"].public_base_url
    context = email.context or {}
    if email.kind == "partner_news":
        request_id = (context.get("data") or {}).get("trip_request_id")
        return f"{base}/admin/buses/{request_id}" if request_id else f"{base}/admin/buses"
    area = context.get("event_type", "").split(".")[0]
    return base + _OPERATOR_PAGES.get(area, f"/operator/{area}s")


def render_news_email(email: OutboundEmail) -> RenderedEmail:
    """The news email `email`. Needs an app context."""
    context = email.context or {}
    news = NEWS.get(context.get("event_type"))
    if news is None:
        raise Undeliverable(f"no words for the news {context.get('event_type')!r}")
    subject_of, sentence_of = news
    data = context.get("data") or {}
    locale = email_locale(email.locale)
    with force_locale(locale):
        facts = _facts(data, locale)
        subject = subject_of(facts)
        values = {
            "lang": locale,
            "subject": subject,
            "sentence": sentence_of(facts),
            "departs": facts["departs"],
            "amount": facts["amount"],
            "link": news_link(email),
        }
        text = render_template("admin/emails/news.txt", **values)
        html = render_template("admin/emails/news.html", **values)
    return RenderedEmail(subject=subject, text=_tidy_text(text), html=html, locale=locale)


def _facts(data: dict, locale: str) -> dict:
    """The names and figures the sentences use, from what the news carried."""
    event = data.get("event") or {}
    departs = None
    if data.get("departs_at"):
        moment = parse_rfc3339(data["departs_at"])
        departs = format_event_time(moment, event.get("timezone") or "UTC", locale)
    amount = None
    if isinstance(data.get("amount"), int) and data.get("currency"):
        amount = format_money(data["amount"], data["currency"], locale)
    return {
        "partner": (data.get("partner") or {}).get("name") or "",
        "event": event.get("title") or "",
        "origin": (data.get("origin") or {}).get("name") or "",
        "operator": (data.get("operator") or {}).get("name") or "",
        "departs": departs,
        "amount": amount,
    }
