"""Signed links for fans: the manage link (status, change stop, cancel, fix the card).

The token is the pledge id signed with SECRET_KEY (itsdangerous): it needs no cookie and no
account, cannot be forged or pointed at another pledge, and works from the email as well as
inside the iframe.
"""

from __future__ import annotations

from flask import current_app, g
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from widget_server.domain.errors import NotFound
from widget_server.extensions import db
from widget_server.models import Pledge

_SALT = "ridepledge.pledge-manage"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def manage_token(pledge_id: str) -> str:
    return _serializer().dumps(pledge_id)


def pledge_id_from_token(token: str) -> str | None:
    """The pledge id in a manage token, or None if the token was not made by us."""
    try:
        value = _serializer().loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def manage_url(partner_slug: str, pledge_id: str) -> str:
    base = current_app.config["SETTINGS"].public_base_url
    return f"{base}/w/{partner_slug}/manage/{manage_token(pledge_id)}"


def pledge_for(token: str) -> Pledge:
    """The current partner's pledge a manage token points at, or 404 (forged, or another
    partner's pledge)."""
    pledge_id = pledge_id_from_token(token)
    pledge = db.session.get(Pledge, pledge_id) if pledge_id else None
    if pledge is None or pledge.partner_id != g.partner.id:
        raise NotFound(_("This link is not valid; check it was copied whole."))
    return pledge


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
