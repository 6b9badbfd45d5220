"""The demo's "partner sites": a home team page for `demo` and an away team page for `demo-away`
that embed the widget the way a partner would, from another origin than the widget's.

`make demo` serves the widget at http://127.0.0.1:8000 (PUBLIC_BASE_URL); these pages are meant
to be opened as http://localhost:8000/partner-site/<slug>, a different origin (a different host
name), which is what the demo partners list in `allowed_origins`. So the demo shows real
cross-origin embedding: frame-ancestors, postMessage origin checks, events reaching the host.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import select

from widget_server.demo_data import DEMO_SCHEDULE
from widget_server.extensions import db
from widget_server.fan.theme import widget_theme
from widget_server.models import Event, Partner
from widget_server.models.types import utcnow

bp = Blueprint("demo_site", __name__)
LOOPBACK_TWINS = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def host_site_url(slug: str) -> str:
    """Where to open a demo partner site: PUBLIC_BASE_URL with its loopback twin host name."""
    base = urlsplit(current_app.config["SETTINGS"].public_base_url)
    twin = LOOPBACK_TWINS.get(base.hostname or "", "localhost")
    port = f":{base.port}" if base.port else ""
    return f"{base.scheme}://{twin}{port}/partner-site/{slug}"


def allow_demo_site_origins(session, site_url: str) -> None:
    """Let the demo partners be embedded by the demo's partner sites wherever the demo runs:
        their files name http://localhost:8000, which is only right on the default PORT. Loopback
        origins in their lists are replaced by the origin the partner sites are served from, which
    their `site_url` (where share links lead) names too."""
    parts = urlsplit(site_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    for partner in session.scalars(select(Partner).where(Partner.slug.in_(list(DEMO_SCHEDULE)))):
        kept = [o for o in partner.allowed_origins or [] if urlsplit(o).hostname not in LOOPBACK]
        partner.allowed_origins = [*kept, origin]
        # Fans' share links lead to the demo partner site, on the origin it really has.
        partner.site_url = f"{origin}/partner-site/{partner.slug}"
    session.flush()


def changes_made_live(differences: dict[str, tuple]) -> dict[str, tuple]:
    """Of a demo partner's differences from its file (field -> (live, file)), the ones someone
    made in the console or the API: not the loopback origins and `site_url` that
    `allow_demo_site_origins` sets for the port the demo runs on."""

    def outside_loopback(origins) -> list[str]:
        return [o for o in origins or [] if urlsplit(o).hostname not in LOOPBACK]

    made = dict(differences)
    if "allowed_origins" in made:
        live, wanted = made["allowed_origins"]
        if outside_loopback(live) == outside_loopback(wanted):
            del made["allowed_origins"]
    if "site_url" in made:
        live, wanted = made["site_url"]
        if {urlsplit(live or "").hostname, urlsplit(wanted or "").hostname} <= LOOPBACK:
            del made["site_url"]
    return made


@bp.get("/partner-site/<slug>")
def partner_site(slug: str):
    """A demo partner's own web page, with the widget embedded."""
    if slug not in DEMO_SCHEDULE:
        abort(404)
    partner = db.session.scalar(select(Partner).where(Partner.slug == slug))
    if partner is None:
        abort(404)
    event = db.session.scalar(
        select(Event)
        .where(Event.partner_id == partner.id, Event.starts_at > utcnow())
        .order_by(Event.starts_at)
        .limit(1)
    )
    widget_base = current_app.config["SETTINGS"].public_base_url
    same_origin = urlsplit(widget_base).netloc == request.host
    return render_template(
        "demo_site/partner.html",
        partner=partner,
        event=event,
        widget_base=widget_base,
        same_origin=same_origin,
        cross_origin_url=host_site_url(slug),
        host_origin=f"{request.scheme}://{request.host}",
        theme_notes=widget_theme(partner.branding or {}).adjustments,
    )
