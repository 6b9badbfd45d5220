"""Boarding codes: the short, typable, signed code on a paid pledge's boarding pass.

A code is 12 Crockford base32 characters, shown as `XXXX-XXXX-XXXX`:

    TT        the trip's tag (the last 2 characters of its id: names the trip)
    PPPPP     the pledge's reference (the last 5 characters of its id, which are random)
    MMMMM     25 bits of HMAC-SHA256(key, "boarding|trip_id|pledge_id")

So a code names its pledge and its trip and is checked by recomputing the MAC: there is no table
of codes to guess from, and a made-up code is `unknown` unless its 25-bit MAC happens to match
(1 in 33 million per try, and the check-in endpoint is rate limited). Crockford decoding is
forgiving of what people type: lower case, `I`/`L` for 1, `O` for 0, spaces and hyphens.

The first 7 characters (`TTPPPPP`) are stored on the pledge (`Pledge.boarding_ref`, indexed
with the partner), so a typed code finds its one candidate by an index lookup.

The key is derived from SECRET_KEY for this purpose only (`keys.derive_key(..., "boarding-codes")`).
Pledges paid before that change (`boarding_code_legacy`, set by migration 0006_h4) keep the code
their fan was sent, signed with SECRET_KEY itself, so emailed and printed passes keep working;
the flag can go once every trip with such pledges has run.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from widget_server.keys import derive_key
from widget_server.models import Pledge, Trip
from widget_server.models.pledges import boarding_lookup

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TYPOS = str.maketrans({"I": "1", "L": "1", "O": "0"})
CODE_LENGTH = 12
_MAC_CHARS = 5
_LOOKUP_CHARS = 7  # what boarding_lookup makes: the trip's tag and the pledge's reference


def _key(secret: str, pledge: Pledge) -> bytes:
    """The key of this pledge's code: the derived one, or SECRET_KEY for a legacy code."""
    if pledge.boarding_code_legacy:
        return secret.encode()
    return derive_key(secret, "boarding-codes")


def _mac(key: bytes, trip_id: str, pledge_id: str) -> str:
    digest = hmac.new(key, f"boarding|{trip_id}|{pledge_id}".encode(), hashlib.sha256).digest()
    value = int.from_bytes(digest[:4], "big") >> (32 - 5 * _MAC_CHARS)
    chars = []
    for _ in range(_MAC_CHARS):
        value, digit = divmod(value, 32)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def boarding_code(secret: str, pledge: Pledge) -> str:
    """The pledge's code, grouped for reading aloud (`7K2M-9QX4-H3RT`)."""
    raw = boarding_lookup(pledge.trip_id, pledge.id) + _mac(
        _key(secret, pledge), pledge.trip_id, pledge.id
    )
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def boarding_code_or_none(secret: str, pledge: Pledge) -> str | None:
    """The code for a paid pledge; None for every other status (contract: `boarding_code`)."""
    return boarding_code(secret, pledge) if pledge.status == "paid" else None


def normalize_code(typed: str) -> str | None:
    """The 12 canonical characters of what someone typed or scanned, or None if it cannot be a
    code. A QR may carry a `RIDEPLEDGE:` prefix."""
    text = typed.strip().upper()
    if text.startswith("RIDEPLEDGE:"):
        text = text[len("RIDEPLEDGE:") :]
    text = text.replace("-", "").replace(" ", "").translate(_TYPOS)
    if len(text) != CODE_LENGTH or any(char not in ALPHABET for char in text):
        return None
    return text


@dataclass(frozen=True)
class CodeMatch:
    """What a code points at: the pledge (None when the code is not one of ours)."""

    pledge: Pledge | None


def find_pledge(session: Session, secret: str, trip: Trip, typed: str) -> CodeMatch:
    """The partner's pledge a code names, if its MAC checks out. Codes of another partner, made
    up, or mistyped find nothing. The pledge may belong to another trip (`other_trip`)."""
    code = normalize_code(typed)
    if code is None:
        return CodeMatch(None)
    lookup, mac = code[:_LOOKUP_CHARS], code[_LOOKUP_CHARS:]
    candidates = session.scalars(
        select(Pledge).where(Pledge.partner_id == trip.partner_id, Pledge.boarding_ref == lookup)
    )
    for pledge in candidates:
        if hmac.compare_digest(_mac(_key(secret, pledge), pledge.trip_id, pledge.id), mac):
            return CodeMatch(pledge)
    return CodeMatch(None)


def qr_svg(code: str, *, scale: int = 8) -> str:
    """The code as an inline SVG QR (segno), dark on white for any scanner."""
    import segno

    return segno.make(code, error="m", micro=False).svg_inline(
        scale=scale, border=4, dark="#000", light="#fff"
    )


def qr_png(code: str, *, scale: int = 8) -> bytes:
    """The code as a PNG QR, for emails (mail programs do not show inline SVG)."""
    import io

    import segno

    out = io.BytesIO()
    segno.make(code, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
