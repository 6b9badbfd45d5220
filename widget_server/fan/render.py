"""Rendering widget pages: the partner's theme, the fan's language, the embedding context and
the security headers every page carries.

The embedding context is what the loader put in the iframe's URL (`host`: the host page's
origin; `locale`: the embed option). Links and forms of the widget carry it on, so each page
inside the iframe knows where to post messages, without cookies or storage.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time, format_timedelta, get_timezone_name
from flask import current_app, g, make_response, render_template, request, url_for
from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from widget_server.domain.branding import wording_for
from widget_server.domain.errors import DomainError, NotFound
from widget_server.domain.partners import SLUG
from widget_server.domain.preview import preview_values
from widget_server.domain.pricing.add_ons import pledge_add_ons
from widget_server.domain.pricing.rules import tiers_of, unit_amount_at
from widget_server.domain.text import clean_text
from widget_server.extensions import db
from widget_server.fan.assets import asset_url
from widget_server.fan.messages import card_behaviour
from widget_server.fan.security import secure_widget_response, trusted_host_origin
from widget_server.fan.sponsors import trip_sponsor
from widget_server.fan.theme import Theme, widget_theme
from widget_server.fan.trip_state import progress_words
from widget_server.i18n import SUPPORTED_LOCALES, format_money
from widget_server.models import Partner
from widget_server.models.types import utcnow
from widget_server.payments import is_simulated
from widget_server.payments.simulated import TEST_CARD_NUMBERS, payment_method_for_card_number

LANGUAGES = (("en", "English"), ("es", "Español"), ("fr", "Français"))
# Browse pages an anonymous fan sees as everyone else does (no cookie, no preview): a shared
# cache (the edge proxy, a CDN) may keep them a few seconds; widget.js updates the progress live.
SHARED_PAGE_CACHE = "public, max-age=5, stale-while-revalidate=30"


def partner_by_slug(slug: str) -> Partner:
    """The partner of a `/w/<slug>/...` URL, or 404 (a malformed slug never reaches a query)."""
    if not isinstance(slug, str) or not re.fullmatch(SLUG, slug):
        raise NotFound(f"no partner {slug[:63]!r}")
    # With its logo's row (never the image, a deferred column): every page shows the logo's URL,
    # which otherwise costs a second round trip.
    partner = db.session.scalar(
        select(Partner).where(Partner.slug == slug).options(joinedload(Partner.logo))
    )
    if partner is None:
        raise NotFound(f"no partner {slug}")
    return partner


def load_partner(slug: str) -> Partner:
    """The partner of a `/w/<slug>/...` URL, and the embedding context of the request."""
    g.partner = partner_by_slug(slug)
    g.partner_locale = g.partner.locale
    g.host_origin = trusted_host_origin(g.partner, request.args.get("host"))
    locale = request.args.get("locale")
    g.embed_locale = locale if locale in SUPPORTED_LOCALES else None
    # The console's live preview: unsaved branding, signed by the console for this partner.
    token = request.args.get("preview")
    g.preview = preview_values(current_app.config["SECRET_KEY"], slug, token)
    g.preview_token = token if g.preview is not None else None
    return g.partner


class PreviewRefused(DomainError):
    """A write from a console preview: previews show the look, they never take a pledge."""

    status = 403
    title = "Preview only"
    type = "preview-only"


def preview_guard() -> None:
    """before_request of the widget's pages and API: a write carrying a `preview` (valid or
    not) is refused, so a preview link, even one opened at top level, cannot collect a fan's
    details under the partner's name."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and "preview" in request.args:
        raise PreviewRefused("a console preview cannot send forms; it shows the look only")


def logo_url(partner: Partner) -> str | None:
    """The content-hashed address of the partner's uploaded logo (`fan/logos.py`), or None."""
    if partner.logo is None:
        return None
    return url_for("widget_logos.logo", partner_slug=partner.slug, file_name=partner.logo.file_name)


def partner_theme(partner: Partner) -> Theme:
    """The partner's look: saved, or the console preview's unsaved values."""
    preview = g.get("preview")
    if preview is None:
        return widget_theme(partner.branding or {}, uploaded_logo=logo_url(partner))
    branding = dict(preview.branding)
    if preview.remove_logo:
        branding.pop("logo_url", None)
    if preview.logo_preview and not preview.remove_logo:
        # A logo file chosen in the console replaces any logo once saved: show it now.
        branding.pop("logo_url", None)
        chosen = url_for("admin.branding_logo_preview", file_name=preview.logo_preview)
        return widget_theme(branding, uploaded_logo=chosen)
    # A typed logo address replaces an uploaded logo once saved: the preview shows it so.
    keep_upload = not preview.remove_logo and not branding.get("logo_url")
    return widget_theme(branding, uploaded_logo=logo_url(partner) if keep_upload else None)


def partner_wording(partner: Partner, locale: str) -> dict[str, str | None]:
    """The partner's headline and intro in the fan's language (saved or previewed); None for
    what the partner left unset there."""
    preview = g.get("preview")
    return wording_for(preview.wording if preview is not None else partner.wording, locale)


def embedding_context() -> dict[str, str]:
    """The query parameters that tie this page to its host page and must survive every
    navigation inside the widget: the trusted host origin, the embed's language and the
    console preview's token (only those present)."""
    values = {
        "host": g.get("host_origin"),
        "locale": g.get("embed_locale"),
        "preview": g.get("preview_token"),
    }
    return {name: value for name, value in values.items() if value}


def carry_context(values: dict) -> None:
    """url_defaults: widget links (and so POST form actions and redirects) keep the partner
    and the embedding context. GET forms, whose action's query the browser drops, carry it as
    hidden fields (`_macros.embedding_fields`)."""
    if g.get("partner") is None:
        return
    values.setdefault("partner_slug", g.partner.slug)
    for name, value in embedding_context().items():
        values.setdefault(name, value)


def payments_mode() -> dict:
    settings = current_app.config["SETTINGS"]
    simulated = is_simulated(settings)
    return {
        "simulated": simulated,
        "stripe_key": None if simulated else settings.stripe_publishable_key,
    }


def payment_method_from_form(form) -> str:
    """The payment method a no-JavaScript form sent: with `simulated`, a Stripe test card
    number stands for its test payment method; with `stripe`, Stripe.js created the
    PaymentMethod and put its id in the form. "" when there is none."""
    if payments_mode()["simulated"]:
        return payment_method_for_card_number(form.get("card_number", "")) or ""
    try:  # Stripe.js's PaymentMethod id, under the text rules like every input
        return clean_text(form.get("payment_method", ""), max_length=255)
    except ValueError:
        return ""  # refused by the caller as a payment_method error


def render_page(
    template: str,
    *,
    status: int = 200,
    bars: tuple = (),
    emit: list | None = None,
    data: dict | None = None,
    here: tuple[str, dict] | None = None,
    shared: bool = False,
    **context,
):
    """A widget page with its theme, language links, page data for widget.js and headers.

    `emit`: widget events (name, detail) the page tells the host page about when it loads.
    `here`: (endpoint, values) the language links point to, when not the current GET.
    `shared`: the page holds nothing of one fan's (see `shared_page`).
    """
    partner = g.partner
    locale = str(get_locale())
    payments = payments_mode()
    endpoint, values = here or (request.endpoint, dict(request.view_args or {}))
    page_data = {
        "partner": partner.slug,
        "locale": locale,
        "host_origin": g.get("host_origin"),
        "api": f"/w/{partner.slug}/api",
        "emit": [{"name": name, "detail": detail} for name, detail in (emit or [])],
        **(data or {}),
    }
    if g.get("preview") is not None:
        page_data["preview"] = True  # widget.js disables every form (see preview_guard)
    if payments["stripe_key"]:
        page_data["stripe_key"] = payments["stripe_key"]
    response = make_response(
        render_template(
            template,
            partner=partner,
            theme=partner_theme(partner),
            wording=partner_wording(partner, locale),
            locale=locale,
            languages=LANGUAGES,
            language_link=lambda code: _language_link(endpoint, values, code),
            bars=bars,
            asset_url=asset_url,
            page_data=page_data,
            embedding=embedding_context(),
            test_cards=TEST_CARD_NUMBERS,
            **payments,
            **context,
        ),
        status,
    )
    secure_widget_response(response, partner, stripe=bool(payments["stripe_key"]))
    if shared and shared_page(response):
        response.headers["Cache-Control"] = SHARED_PAGE_CACHE
        response.add_etag()
        response.make_conditional(request)
    return response


def shared_page(response) -> bool:
    """A page a shared cache may keep: a plain 200 to a GET without cookies (a console session
    could change what the page is) nor a console preview. Its form tokens are bound to the
    partner and the form only, never to a fan, so a kept copy's tokens serve every fan
    (docs/embed.md, "Security")."""
    return (
        response.status_code == 200
        and request.method in ("GET", "HEAD")
        and "Cookie" not in request.headers
        and g.get("preview") is None
        and "preview" not in request.args
    )


def _language_link(endpoint: str, values: dict, code: str) -> str:
    return url_for(endpoint, **{**values, "locale": code})


# Dates and times: in the event's time zone, written the way the fan's language writes them.


def local_day(moment: datetime, timezone: str) -> str:
    """ "Wed, Nov 13, 2030" / "mié, 13 nov 2030"."""
    return format_skeleton("yMMMEd", moment, tzinfo=ZoneInfo(timezone), locale=str(get_locale()))


def local_time(moment: datetime, timezone: str) -> str:
    return format_time(moment, "short", tzinfo=ZoneInfo(timezone), locale=str(get_locale()))


def local_when(moment: datetime, timezone: str) -> str:
    """ "Wed, Nov 13, 2030, 7:00 PM"."""
    return f"{local_day(moment, timezone)}, {local_time(moment, timezone)}"


def zone_name(timezone: str, moment: datetime | None = None) -> str:
    """ "Central Standard Time" / "hora estándar central"."""
    return get_timezone_name(
        (moment or utcnow()).astimezone(ZoneInfo(timezone)), "long", locale=str(get_locale())
    )


def relative(moment: datetime, now: datetime | None = None) -> str:
    """ "in 9 days" / "dentro de 9 días"; stays in days up to two weeks."""
    delta: timedelta = moment - (now or utcnow())
    return format_timedelta(delta, threshold=2, add_direction=True, locale=str(get_locale()))


def template_helpers() -> dict:
    return {
        "local_day": local_day,
        "local_time": local_time,
        "local_when": local_when,
        "zone_name": zone_name,
        "relative": relative,
        "money": format_money,
        "card_behaviour": card_behaviour,
        "progress_words": progress_words,
        "trip_sponsor": trip_sponsor,
        "pledge_add_ons": pledge_add_ons,
        "price_tiers": tiers_of,
        "unit_price": current_unit_price,
    }


def current_unit_price(trip) -> int:
    """The price per seat a fan pledging now pays (domain/pricing)."""
    return unit_amount_at(trip, utcnow())
