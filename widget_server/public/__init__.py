"""Owns the public pages face: trip and event pages outside the iframe, sitemaps, robots.txt.

For fans arriving from search or a friend:
`/t/<partner>/<trip>`, `/t/<partner>/events/<event>`, `/t/<partner>/sitemap.xml` and
`/robots.txt`. Server-rendered, no JavaScript, the partner's branding, one URL per language
(`?locale=`) with `hreflang` alternates, canonical URL, OpenGraph, Twitter card and schema.org
JSON-LD (`structured_data.py`). The pledge button opens the widget's own pledge flow.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, make_response, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from widget_server.domain.errors import NotFound
from widget_server.domain.pledges import sales
from widget_server.domain.referrals import page_referral
from widget_server.extensions import db
from widget_server.fan.assets import asset_url
from widget_server.fan.render import (
    LANGUAGES,
    current_unit_price,
    local_when,
    logo_url,
    partner_by_slug,
    template_helpers,
)
from widget_server.fan.sponsors import trip_sponsor
from widget_server.fan.theme import widget_theme
from widget_server.fan.trip_state import state_explanation, state_label, trip_state
from widget_server.i18n import SUPPORTED_LOCALES, format_money
from widget_server.models import Event, Partner, Trip
from widget_server.models.types import utcnow
from widget_server.public.structured_data import trip_json_ld
from widget_server.security_headers import style_hashes

bp = Blueprint("public", __name__)

PUBLIC_STATUSES = ("open", "confirmed", "completed", "failed", "canceled")
# Trip states whose pages are worth finding: they still take (or will take back) pledges.
LIVE_STATES = ("open", "confirmed", "sold_out")


def _base() -> str:
    return current_app.config["SETTINGS"].public_base_url


def _load(slug: str) -> Partner:
    partner = partner_by_slug(slug)
    g.partner = partner
    explicit = request.args.get("locale")
    # One language per URL (search engines index each): the explicit one, else the partner's.
    g.locale = explicit if explicit in SUPPORTED_LOCALES else partner.locale
    return partner


def _url(path: str, locale: str | None, partner: Partner) -> str:
    """The absolute URL of `path` in `locale` (the partner's own language has no parameter)."""
    query = "" if locale in (None, partner.locale) else "?" + urlencode({"locale": locale})
    return f"{_base()}{path}{query}"


def _alternates(path: str, partner: Partner) -> list[tuple[str, str]]:
    links = [(code, _url(path, code, partner)) for code, _name in LANGUAGES]
    return [*links, ("x-default", _url(path, None, partner))]


def is_live(trip: Trip, now=None) -> bool:
    """Open for pledges (or sold out but not yet departed): the sitemap lists these."""
    return trip.status in ("open", "confirmed") and trip_state(trip, now).state in LIVE_STATES


def live_trips(partner: Partner) -> list[Trip]:
    trips = db.session.scalars(
        select(Trip)
        .where(Trip.partner_id == partner.id, Trip.status.in_(("open", "confirmed")))
        .order_by(Trip.id)
        .options(*sales.DECIDING)
    )
    now = utcnow()
    return [trip for trip in trips if is_live(trip, now)]


def _page(template: str, *, path: str, indexable: bool, **context) -> Response:
    partner = g.partner
    locale = g.locale
    theme = widget_theme(partner.branding or {}, uploaded_logo=logo_url(partner))
    logo = theme.logo_url
    html = render_template(
        template,
        partner=partner,
        theme=theme,
        # OpenGraph and Twitter cards need an absolute address.
        absolute_logo_url=_base() + logo if logo and logo.startswith("/") else logo,
        locale=locale,
        languages=LANGUAGES,
        canonical=_url(path, locale, partner),
        alternates=_alternates(path, partner),
        language_link=lambda code: _url(path, code, partner),
        indexable=indexable,
        asset_url=asset_url,
        **template_helpers(),
        **context,
    )
    response = make_response(html)
    response.headers["Content-Security-Policy"] = (
        # No script runs (the JSON-LD block is data); the theme style is allowed by its hash,
        # so the page, the same for everyone, may be kept by a shared cache.
        "default-src 'self'; script-src 'none'; "
        f"style-src 'self' {' '.join(style_hashes())}; img-src 'self' https: data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Content-Language"] = locale
    response.add_etag()
    response.make_conditional(request)
    if not indexable:
        response.headers["X-Robots-Tag"] = "noindex"
    return response


def _pledge_url(partner: Partner, trip: Trip, locale: str, share: dict | None = None) -> str:
    """The widget's pledge form for the trip (the same flow as inside the iframe); from a share
    link, with the friend's stop and referral code (`share`)."""
    query = {"locale": locale, **(share or {})}
    return f"{_base()}/w/{partner.slug}/trips/{trip.id}/pledge?" + urlencode(query)


def _shared(trip: Trip) -> dict:
    """What a share link (`?stop=&ref=`) carries on to the pledge form: the stop if it is one
    of the trip's, the referral code if it is genuine and names a pledge of this trip (a
    damaged one is dropped: the page works without it)."""
    stop = request.args.get("stop")
    ref = (request.args.get("ref") or "")[:64]
    code = page_referral(db.session, current_app.config["SECRET_KEY"], trip, ref or None)
    shared = {"stop": stop} if any(s.id == stop for s in trip.stops) else {}
    return {**shared, "ref": code} if code else shared


@bp.get("/t/<slug>/<trip_id>")
def trip_page(slug: str, trip_id: str):
    partner = _load(slug)
    trip = db.session.get(Trip, trip_id)
    if trip is None or trip.partner_id != partner.id or trip.status not in PUBLIC_STATUSES:
        raise NotFound(_("This trip is not available."))
    state = trip_state(trip)
    event = trip.event
    path = f"/t/{partner.slug}/{trip.id}"
    event_path = f"/t/{partner.slug}/events/{event.id}"
    pledge_url = _pledge_url(partner, trip, g.locale)
    shared = _shared(trip)
    title = _("Bus from %(origin)s to %(event)s", origin=trip.origin_name, event=event.title)
    description = _(
        "%(price)s per seat. Leaves %(stop)s on %(when)s. %(state)s.",
        price=format_money(current_unit_price(trip), trip.currency),
        stop=trip.stops[0].name,
        when=local_when(trip.stops[0].departs_at, event.timezone),
        state=state_label(state.state),
    )
    json_ld = trip_json_ld(
        trip,
        state=state.state,
        page_url=_url(path, g.locale, partner),
        event_url=_url(event_path, g.locale, partner),
        pledge_url=pledge_url,
        in_language=g.locale,
        sponsor=trip_sponsor(trip, _base()),
    )
    return _page(
        "public/trip.html",
        path=path,
        indexable=is_live(trip),
        trip=trip,
        event=event,
        state=state,
        bars=[] if state.state in ("failed", "canceled", "completed") else [state],
        explanation=state_explanation(state.state, trip),
        state_label=state_label(state.state),
        title=title,
        description=description,
        pledge_url=_pledge_url(partner, trip, g.locale, shared) if state.can_pledge else None,
        shared_stop=next((s for s in trip.stops if s.id == shared.get("stop")), None),
        event_url=_url(event_path, g.locale, partner),
        json_ld=json_ld,
    )


@bp.get("/t/<slug>/events/<event_id>")
def event_page(slug: str, event_id: str):
    partner = _load(slug)
    event = db.session.get(Event, event_id)
    if event is None or event.partner_id != partner.id:
        raise NotFound(_("This game is not available."))
    trips = db.session.scalars(
        select(Trip)
        .where(Trip.event_id == event.id, Trip.status.in_(PUBLIC_STATUSES))
        .options(*sales.DECIDING)
    )
    states = sorted((trip_state(trip) for trip in trips), key=lambda s: s.trip.departs_at)
    path = f"/t/{partner.slug}/events/{event.id}"
    title = _("Buses to %(event)s", event=event.title)
    description = _(
        "%(count)s bus(es) to %(event)s at %(venue)s.",
        count=sum(1 for s in states if s.state in LIVE_STATES),
        event=event.title,
        venue=event.venue,
    )
    return _page(
        "public/event.html",
        path=path,
        indexable=event.starts_at > utcnow(),
        event=event,
        states=states,
        bars=[],
        title=title,
        description=description,
        trip_url=lambda trip: _url(f"/t/{partner.slug}/{trip.id}", g.locale, partner),
        label=state_label,
    )


@bp.get("/t/<slug>/sitemap.xml")
def sitemap(slug: str):
    """The partner's live trip pages, each with its language alternates."""
    partner = partner_by_slug(slug)
    entries = []
    for trip in live_trips(partner):
        path = f"/t/{partner.slug}/{trip.id}"
        entries.append(
            {
                "loc": _url(path, None, partner),
                "lastmod": trip.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "alternates": _alternates(path, partner),
            }
        )
    body = render_template("public/sitemap.xml", entries=entries)
    return Response(body, mimetype="application/xml", headers={"Cache-Control": "max-age=300"})


@bp.get("/robots.txt")
def robots():
    """Every partner's sitemap; the fan's private pages and the driver's page are off limits."""
    slugs = db.session.scalars(select(Partner.slug).order_by(Partner.slug))
    lines = [
        "User-agent: *",
        "Allow: /t/",
        "Disallow: /d/",
        "Disallow: /admin",
        "Disallow: /w/*/manage/",
        "Disallow: /w/*/api/",
        "",
        *(f"Sitemap: {_base()}/t/{slug}/sitemap.xml" for slug in slugs),
    ]
    return Response("\n".join(lines) + "\n", mimetype="text/plain")
