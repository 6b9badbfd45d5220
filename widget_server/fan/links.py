"""Signed links for fans: the manage link (status, change stop, cancel, fix the card), and
the share link for friends (its referral code is in `domain/referrals.py`).

A token is `[pledge id, random nonce]` signed with SECRET_KEY and stamped with the time it was
issued (itsdangerous): it needs no cookie and no account, cannot be forged or pointed at another
pledge, works from the email as well as inside the iframe, and every issue is a different
string. It is valid until `LINK_LIFETIME_AFTER_EVENT` after the trip's game (so it outlasts the
trip: refunds and receipts come after it), then the page says it expired and offers to email a
fresh link. A fan who lost the link gets fresh ones by email ("email me my link").

A link to a pledge that has ended (canceled, released, dropped, refunded) still opens, on a
status page without any of the live forms.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app, g
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

from widget_server.domain.errors import DomainError, NotFound
from widget_server.domain.pledges.sales import sale_closed
from widget_server.domain.referrals import share_url
from widget_server.extensions import db
from widget_server.models import Partner, Pledge
from widget_server.models.types import utcnow

_SALT = "ridepledge.pledge-manage.v2"  # v1 tokens (no issue time, no expiry) no longer open
LINK_LIFETIME_AFTER_EVENT = timedelta(days=30)


class LinkExpired(DomainError):
    """A manage link past its lifetime."""

    status = 410
    title = "Link expired"
    type = "link-expired"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def manage_token(pledge_id: str) -> str:
    """A new token for the pledge's manage link: a different string at every issue."""
    return _serializer().dumps([pledge_id, secrets.token_urlsafe(6)])


def pledge_id_from_token(token: str) -> str | None:
    """The pledge id in a manage token, or None if the token was not made by us."""
    try:
        value = _serializer().loads(token)
    except BadSignature:
        return None
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return value[0]
    return None


def link_expires_at(pledge: Pledge) -> datetime:
    """When the pledge's manage links stop working: a while after its game."""
    return pledge.trip.event.starts_at + LINK_LIFETIME_AFTER_EVENT


def manage_url(partner_slug: str, pledge_id: str) -> str:
    base = current_app.config["SETTINGS"].public_base_url
    return f"{base}/w/{partner_slug}/manage/{manage_token(pledge_id)}"


def pledge_for(token: str) -> Pledge:
    """The current partner's pledge a manage token points at; 404 when forged or another
    partner's pledge, 410 once the link's lifetime is over."""
    pledge_id = pledge_id_from_token(token)
    pledge = db.session.get(Pledge, pledge_id) if pledge_id else None
    if pledge is None or pledge.partner_id != g.partner.id:
        raise NotFound(_("This link is not valid; check it was copied whole."))
    if utcnow() > link_expires_at(pledge):
        raise LinkExpired("this manage link has expired")
    return pledge


def share_link(partner: Partner, pledge: Pledge) -> str:
    """The pledge's share link for friends (`domain/referrals.py`): the same trip and stop,
    with its referral code; on the partner's page when it gave one (`site_url`)."""
    base = current_app.config["SETTINGS"].public_base_url
    return share_url(base, partner, pledge, current_app.config["SECRET_KEY"])


def open_share_link(partner: Partner, pledge: Pledge) -> str | None:
    """The share link while the pledge is live and its trip still takes pledges, else None:
    then there is nothing to bring friends to. Pages, the widget API and emails ask this."""
    if not pledge.is_live or sale_closed(pledge.trip, utcnow()) is not None:
        return None
    return share_link(partner, pledge)


def share_box(pledge: Pledge) -> dict | None:
    """What the confirmation and manage pages show to share a pledge (`_macros.share_box`):
    its link, the words that fit the trip's state, and words for the Web Share sheet (None
    when `open_share_link` has none)."""
    url = open_share_link(g.partner, pledge)
    if url is None:
        return None
    trip = pledge.trip
    names = {"origin": trip.origin_name, "event": trip.event.title}
    if trip.seats_remaining <= 0:
        text = _(
            "I have a seat on the bus from %(origin)s to %(event)s. It is full, but you can join "
            "its waitlist.",
            **names,
        )
    elif trip.status == "confirmed":
        text = _(
            "I have a seat on the bus from %(origin)s to %(event)s, and it runs. Join me while "
            "seats last.",
            **names,
        )
    else:
        text = _(
            "I pledged a seat on the bus from %(origin)s to %(event)s. Join me: the bus runs "
            "when enough of us pledge.",
            **names,
        )
    return {
        "url": url,
        "hint": share_hint(trip),
        "title": _("Ride with me to %(event)s", event=trip.event.title),
        "text": text,
    }


def share_hint(trip) -> str:
    """What the share box says to the fan (pages and emails), true to the trip's state: the
    more pledges, the sooner an open bus runs; a running bus has seats left; a full one has
    a waitlist."""
    if trip.seats_remaining <= 0:
        return _(
            "Every seat on this bus is taken: friends who open this link can join its waitlist "
            "and get seats that free up."
        )
    if trip.status == "confirmed":
        return _(
            "Send friends this link: it opens this bus with your stop chosen. It runs, and "
            "seats are left for them."
        )
    return _(
        "Send friends this link: it opens this bus with your stop chosen. The more seats are "
        "pledged, the sooner the bus runs."
    )


def boarding_url(partner_slug: str, pledge_id: str) -> str:
    """The printable boarding pass (shown once the pledge is paid)."""
    return manage_url(partner_slug, pledge_id) + "/boarding"


_WAITLIST_SALT = "ridepledge.waitlist-offer"


def waitlist_token(entry_id: str) -> str:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_WAITLIST_SALT).dumps(entry_id)


def waitlist_entry_id(token: str) -> str | None:
    """The waitlist entry a signed waitlist link names, or None if we did not sign it."""
    try:
        value = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_WAITLIST_SALT).loads(
            token
        )
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def waitlist_url(partner_slug: str, entry_id: str) -> str:
    """The fan's waitlist page: place in line, and the offer to take or decline."""
    base = current_app.config["SETTINGS"].public_base_url
    return f"{base}/w/{partner_slug}/waitlist/{waitlist_token(entry_id)}"
