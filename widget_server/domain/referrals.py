"""Share and group: the referral code in a fan's share link, and the pledges it brings.

A referral code names the referring pledge and nothing else (never the manage token, the
fan's name or email): the pledge id's 26 characters followed by 8 characters (40 bits) of
HMAC-SHA256 over that id, keyed `referral-codes` (derived from SECRET_KEY by `keys.py`), in
the same lower-case Crockford base32 as ids. Anyone can read which pledge it names (ids are opaque);
nobody can make one for a pledge without SECRET_KEY.

The rules, the same on every face:

- a code we did not sign (tampered, truncated, made up) is *forged*: the JSON pledge endpoints
  answer 422 naming `ref`; the pages drop it and work as if there were none;
- a genuine code that does not apply is *ignored* (the pledge goes through, `referred_by`
  stays null): it names a pledge of another trip or another partner (nothing is said about
  that pledge), a pledge that no longer exists, or the same fan (same `email_key`: nobody
  refers themselves).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from widget_server.domain.errors import ValidationFailed
from widget_server.ids import _ALPHABET, is_id
from widget_server.keys import derive_key
from widget_server.models import Partner, Pledge, Trip
from widget_server.models.pledges import LIVE_STATUSES

MAC_LENGTH = 8  # characters of base32: 40 bits
CODE_LENGTH = 26 + MAC_LENGTH
_CODE = re.compile(f"^[{re.escape(_ALPHABET)}]{{{CODE_LENGTH}}}$")
# Query parameters of a share link on the partner's own page, read by `embed/embed.js`.
SITE_PARAMETERS = ("rp", "rp_trip", "rp_stop", "rp_ref")


class ForgedReferral(ValidationFailed):
    """A referral code we did not sign."""


def _mac(secret: str, pledge_id: str) -> str:
    key = derive_key(secret, "referral-codes")
    digest = hmac.new(key, f"referral|{pledge_id}".encode(), hashlib.sha256).digest()
    value = int.from_bytes(digest[:5], "big")  # 40 bits = 8 base32 characters
    return "".join(_ALPHABET[(value >> shift) & 31] for shift in range(35, -1, -5))


def referral_code(secret: str, pledge_id: str) -> str:
    """The share code naming `pledge_id` (always the same string for the same pledge)."""
    return pledge_id.removeprefix("plg_") + _mac(secret, pledge_id)


def referring_pledge_id(secret: str, code: object) -> str:
    """The pledge id a code names; ForgedReferral (422 on `ref`) unless we signed it."""
    text = code.strip().lower() if isinstance(code, str) else ""
    if _CODE.fullmatch(text):
        pledge_id = "plg_" + text[:26]
        if is_id(pledge_id, "plg") and hmac.compare_digest(text[26:], _mac(secret, pledge_id)):
            return pledge_id
    raise ForgedReferral.field("ref", "is not a share code of ours; check it was copied whole")


def referrer_for(
    session: Session, secret: str, trip: Trip, code: str | None, *, fan_key: str | None = None
) -> Pledge | None:
    """The pledge of `trip` whose share link `code` is, or None when there is no code or it
    does not apply (another trip's or partner's pledge, gone, or the fan's own: `fan_key` is
    the new pledge's `email_key`). A forged code raises ForgedReferral."""
    if code is None or code == "":
        return None
    pledge_id = referring_pledge_id(secret, code)
    referrer = session.get(Pledge, pledge_id)
    if referrer is None or referrer.trip_id != trip.id or referrer.partner_id != trip.partner_id:
        return None
    if fan_key is not None and referrer.email_key == fan_key:
        return None
    return referrer


def page_referral(session: Session, secret: str, trip: Trip, code: str | None) -> str | None:
    """For pages: the code itself if it is genuine and names a pledge of `trip`, else None
    (a friend following a damaged link still gets a working page, without the referral)."""
    try:
        referrer = referrer_for(session, secret, trip, code)
    except ForgedReferral:
        return None
    return referral_code(secret, referrer.id) if referrer else None


def share_url(base: str, partner: Partner, pledge: Pledge, secret: str) -> str:
    """The link a fan sends friends: the same trip and stop, carrying the referral code. On the
    partner's own page (`site_url`, where embed.js opens the widget at the trip's pledge form)
    when it is set, else on the public trip page `/t/{partner}/{trip}`."""
    code = referral_code(secret, pledge.id)
    if partner.site_url:
        parts = urlsplit(partner.site_url)
        values = (partner.slug, pledge.trip_id, pledge.stop_id, code)
        ours = dict(zip(SITE_PARAMETERS, values, strict=True))
        query = "&".join(q for q in (parts.query, urlencode(ours)) if q)
        return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, parts.fragment))
    query = urlencode({"stop": pledge.stop_id, "ref": code})
    return f"{base}/t/{partner.slug}/{pledge.trip_id}?{query}"


def referral_counts(session: Session, pledge_ids: list[str]) -> dict[str, int]:
    """Live pledges each of `pledge_ids` brought, in one query (pledges that brought none are
    left out)."""
    if not pledge_ids:
        return {}
    rows = session.execute(
        select(Pledge.referred_by, func.count(Pledge.id))
        .where(Pledge.referred_by.in_(pledge_ids), Pledge.status.in_(LIVE_STATUSES))
        .group_by(Pledge.referred_by)
    )
    return {referrer: count for referrer, count in rows}


def referrer_names(session: Session, trip: Trip) -> dict[str, str]:
    """Pledge id -> fan name, for the pledges of `trip` whose share links brought others."""
    rows = session.execute(
        select(Pledge.id, Pledge.name).where(
            Pledge.trip_id == trip.id,
            Pledge.id.in_(select(Pledge.referred_by).where(Pledge.trip_id == trip.id)),
        )
    )
    return {pledge_id: name for pledge_id, name in rows}
