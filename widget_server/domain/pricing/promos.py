"""Promo codes: which code a fan may use now, and using it exactly once per pledge.

A code is usable for a pledge when it is `active`, inside its window (`starts_at` <= now <
`ends_at`), has uses left (`times_redeemed` < `max_redemptions`), covers the trip (every
trip, its event or the trip itself; an `amount_off` code only in its own currency) and the
fan has not used it `per_fan_limit` times. `usable_promo` answers that before the card is
saved (the price the fan sees); `redeem` takes the use in the pledge's recording transaction
with one conditional UPDATE, so 20 fans racing for the last 5 uses give exactly 5 (the other
15 are refused and their pledges are not recorded). A use is never given back: a withdrawn,
dropped or canceled pledge keeps its redemption, as a redeemed coupon does.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from widget_server.domain.errors import ValidationFailed
from widget_server.domain.pricing.rules import PromoTerms
from widget_server.models import PromoCode, PromoRedemption, Trip
from widget_server.models.types import utcnow

CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")

# Why a code cannot be used: reason -> the developer's words (the widget shows the fan's own,
# fan/messages.promo_messages, chosen by the same reason).
REASONS = {
    "unknown": "is not a valid code",
    "off": "is turned off",
    "not_yet_valid": "is not valid yet",
    "expired": "has expired",
    "used_up": "has been used the maximum number of times",
    "not_for_this_trip": "is not valid for this trip",
    "per_fan_limit": "has already been used the maximum number of times by this fan",
}


class PromoCodeUnusable(ValidationFailed):
    """A 422 naming `promo_code`, with why (`reason`, one of REASONS)."""

    title = "Promo code not usable"
    type = "promo-code-unusable"

    def __init__(self, reason: str):
        message = REASONS[reason]
        super().__init__(f"promo_code: {message}", errors={"promo_code": [message]})
        self.reason = reason


def normalize_code(value: str) -> str:
    """A code as stored and compared: trimmed, upper case, 1-40 of A-Z 0-9 _ -. ValueError
    otherwise (lone surrogates, spaces, control characters and the like included)."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if not CODE_PATTERN.fullmatch(code):
        raise ValueError("must be 1 to 40 letters, digits, '-' or '_'")
    return code


def terms(promo: PromoCode) -> PromoTerms:
    return PromoTerms(promo.code, promo.percent_off, promo.amount_off, promo.id)


def locked_terms(session: Session, pledge) -> PromoTerms | None:
    """The terms of the code `pledge` was made with (None: none), as they were then (its
    price breakdown keeps them), whatever the code's state now: the pledge holds its use
    already, so a code turned off, expired, used up or edited since still applies to it as
    it did, and no use is taken again (re-pricing a pledge for other seats). Pledges priced
    before the breakdown kept the terms read the code as it is now."""
    if pledge.promo_code_id is None:
        return None
    kept = (pledge.price_breakdown or {}).get("promo_terms")
    if kept:
        return PromoTerms(
            pledge.promo_code, kept["percent_off"], kept["amount_off"], pledge.promo_code_id
        )
    promo = session.get(PromoCode, pledge.promo_code_id)
    return terms(promo) if promo is not None else None


def find_promo(session: Session, partner_id: str, code: str) -> PromoCode:
    """The partner's code typed by a fan (any case), or PromoCodeUnusable("unknown")."""
    try:
        normalized = normalize_code(code)
    except ValueError:
        raise PromoCodeUnusable("unknown") from None
    promo = session.scalar(
        select(PromoCode).where(PromoCode.partner_id == partner_id, PromoCode.code == normalized)
    )
    if promo is None:
        raise PromoCodeUnusable("unknown")
    return promo


def unusable_reason(promo: PromoCode, trip: Trip, at: datetime) -> str | None:
    """Why the code cannot be used on the trip at `at` (None: it can), the fan aside."""
    if not promo.active:
        return "off"
    if promo.starts_at is not None and at < promo.starts_at:
        return "not_yet_valid"
    if promo.ends_at is not None and at >= promo.ends_at:
        return "expired"
    if promo.max_redemptions is not None and promo.times_redeemed >= promo.max_redemptions:
        return "used_up"
    if (promo.trip_id is not None and promo.trip_id != trip.id) or (
        promo.event_id is not None and promo.event_id != trip.event_id
    ):
        return "not_for_this_trip"
    if promo.amount_off is not None and promo.currency != trip.currency:
        return "not_for_this_trip"
    return None


def fan_redemptions(session: Session, promo_id: str, fan_key: str) -> int:
    return session.scalar(
        select(func.count()).where(
            PromoRedemption.promo_code_id == promo_id, PromoRedemption.fan_key == fan_key
        )
    )


def usable_promo(
    session: Session,
    partner_id: str,
    code: str,
    trip: Trip,
    at: datetime,
    fan_key: str | None = None,
) -> PromoTerms:
    """The terms of the partner's `code` if it may be used on `trip` at `at` (by the fan with
    `fan_key`, when known), else PromoCodeUnusable naming why."""
    promo = find_promo(session, partner_id, code)
    reason = unusable_reason(promo, trip, at)
    if (
        reason is None
        and fan_key is not None
        and promo.per_fan_limit is not None
        and fan_redemptions(session, promo.id, fan_key) >= promo.per_fan_limit
    ):
        reason = "per_fan_limit"
    if reason is not None:
        raise PromoCodeUnusable(reason)
    return terms(promo)


def redeem(
    session: Session,
    promo_id: str,
    trip: Trip,
    pledge_id: str,
    fan_key: str,
    at: datetime | None = None,
) -> None:
    """Take one use of the code for the pledge being recorded (in its transaction): one
    conditional UPDATE, so uses never pass `max_redemptions` whatever the concurrency; then
    the fan's limit, checked while this transaction holds the code's row. Raises
    PromoCodeUnusable (rolling the pledge back) when the code stopped being usable since the
    fan saw the price."""
    at = at or utcnow()
    taken = session.execute(
        update(PromoCode)
        .where(
            PromoCode.id == promo_id,
            PromoCode.active.is_(True),
            or_(
                PromoCode.max_redemptions.is_(None),
                PromoCode.times_redeemed < PromoCode.max_redemptions,
            ),
            or_(PromoCode.starts_at.is_(None), PromoCode.starts_at <= at),
            or_(PromoCode.ends_at.is_(None), PromoCode.ends_at > at),
        )
        .values(times_redeemed=PromoCode.times_redeemed + 1)
        .returning(PromoCode.per_fan_limit)
        .execution_options(synchronize_session=False)
    ).first()
    if taken is None:
        promo = session.get(PromoCode, promo_id, populate_existing=True)
        reason = unusable_reason(promo, trip, at) if promo is not None else "unknown"
        raise PromoCodeUnusable(reason or "used_up")
    per_fan_limit = taken[0]
    if per_fan_limit is not None and fan_redemptions(session, promo_id, fan_key) >= per_fan_limit:
        raise PromoCodeUnusable("per_fan_limit")
    session.add(PromoRedemption(promo_code_id=promo_id, pledge_id=pledge_id, fan_key=fan_key))
    session.flush()
