"""Signed links for fans: the manage link (status, change stop, cancel, fix the card).

The token is the pledge id signed with SECRET_KEY (itsdangerous): it needs no cookie and no
account, cannot be forged or pointed at another pledge, and works from the email as well as
inside the iframe.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

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
