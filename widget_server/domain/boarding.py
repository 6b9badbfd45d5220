"""Boarding codes: the short, typable, signed code on a paid pledge's boarding pass.

A code is 12 Crockford base32 characters, shown as `XXXX-XXXX-XXXX`:

    TT        the trip's tag (the last 2 characters of its id: names the trip)
    PPPPP     the pledge's reference (the last 5 characters of its id, which are random)
    MMMMM     25 bits of HMAC-SHA256(SECRET_KEY, "boarding|trip_id|pledge_id")

So a code names its pledge and its trip and is checked by recomputing the MAC: there is no table
of codes to guess from, and a made-up code is `unknown` unless its 25-bit MAC happens to match
(1 in 33 million per try, and the check-in endpoint is rate limited). Crockford decoding is
forgiving of what people type: lower case, `I`/`L` for 1, `O` for 0, spaces and hyphens.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from widget_server.models import Pledge, Trip

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TYPOS = str.maketrans({"I": "1", "L": "1", "O": "0"})
CODE_LENGTH = 12
_MAC_CHARS = 5
_TAG_CHARS = 2
_REF_CHARS = 5


def _mac(secret: str, trip_id: str, pledge_id: str) -> str:
    digest = hmac.new(
        secret.encode(), f"boarding|{trip_id}|{pledge_id}".encode(), hashlib.sha256
    ).digest()
    value = int.from_bytes(digest[:4], "big") >> (32 - 5 * _MAC_CHARS)
    chars = []
    for _ in range(_MAC_CHARS):
        value, digit = divmod(value, 32)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def _tail(object_id: str, length: int) -> str:
    return object_id.rsplit("_", 1)[-1][-length:].upper()


def boarding_code(secret: str, pledge: Pledge) -> str:
    """The pledge's code, grouped for reading aloud (`7K2M-9QX4-H3RT`)."""
    raw = (
        _tail(pledge.trip_id, _TAG_CHARS)
        + _tail(pledge.id, _REF_CHARS)
        + _mac(secret, pledge.trip_id, pledge.id)
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
    tag, ref, mac = code[:2], code[2:7], code[7:]
    candidates = session.scalars(
        select(Pledge).where(
            Pledge.partner_id == trip.partner_id,
            Pledge.id.like(f"%{ref.lower()}"),
            Pledge.trip_id.like(f"%{tag.lower()}"),
        )
    )
    for pledge in candidates:
        if hmac.compare_digest(_mac(secret, pledge.trip_id, pledge.id), mac):
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
