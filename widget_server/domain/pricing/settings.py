"""What partners set: promo codes (create, change, turn off), a trip's price steps and the
group tiers of a trip or an event. Each is checked here, whichever face sent it (API,
console, partner files)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.errors import ValidationFailed
from widget_server.domain.pricing.promos import normalize_code
from widget_server.ids import is_id
from widget_server.models import Event, PromoCode, Trip
from widget_server.models.types import rfc3339

MAX_AMOUNT = 10_000_000  # minor units: the most any price or discount may be
MAX_REDEMPTIONS = 1_000_000
MAX_PER_FAN = 100
MAX_STEPS = 20
MAX_TIERS = 10

PROMO_FIELDS = (
    "code",
    "percent_off",
    "amount_off",
    "currency",
    "max_redemptions",
    "per_fan_limit",
    "starts_at",
    "ends_at",
    "event_id",
    "trip_id",
    "active",
)


def create_promo_code(session: Session, partner_id: str, values: dict, *, actor: str):
    """A new code from the fields of `PROMO_FIELDS` given (the rest: no limit, every trip,
    active)."""
    promo = PromoCode(partner_id=partner_id, active=True, times_redeemed=0)
    _apply(session, promo, {"active": True, **values})
    session.add(promo)
    session.flush()
    record(session, partner_id, actor, "promo_code.created", "promo_code", promo.id, _audit(values))
    return promo


def update_promo_code(session: Session, promo: PromoCode, changes: dict, *, actor: str):
    """Change a code. Pledges already made keep the price they locked."""
    _apply(session, promo, changes)
    session.flush()
    record(
        session,
        promo.partner_id,
        actor,
        "promo_code.updated",
        "promo_code",
        promo.id,
        _audit(changes),
    )
    return promo


def _audit(values: dict) -> dict:
    return {
        key: rfc3339(value) if isinstance(value, datetime) else value
        for key, value in values.items()
    }


def _apply(session: Session, promo: PromoCode, changes: dict) -> None:
    merged = {name: getattr(promo, name) for name in PROMO_FIELDS} | changes
    if "percent_off" in changes and changes["percent_off"] is not None:
        merged["amount_off"] = merged["currency"] = None
    if "amount_off" in changes and changes["amount_off"] is not None:
        merged["percent_off"] = None
    merged["code"] = _code(merged["code"])
    _check_discount(merged)
    _check_limits(promo, merged)
    _check_scope(session, promo.partner_id, merged)
    clash = session.scalar(
        select(PromoCode.id).where(
            PromoCode.partner_id == promo.partner_id, PromoCode.code == merged["code"]
        )
    )
    if clash is not None and clash != promo.id:
        raise ValidationFailed.field("code", "is already used by another of your promo codes")
    for name in PROMO_FIELDS:
        setattr(promo, name, merged[name])


def _code(value) -> str:
    try:
        return normalize_code(value)
    except ValueError as exc:
        raise ValidationFailed.field("code", str(exc)) from None


def _check_discount(values: dict) -> None:
    percent, amount = values["percent_off"], values["amount_off"]
    if (percent is None) == (amount is None):
        raise ValidationFailed.field("percent_off", "give either percent_off or amount_off")
    if percent is not None and not 1 <= percent <= 100:
        raise ValidationFailed.field("percent_off", "must be from 1 to 100")
    if amount is not None:
        if not 1 <= amount <= MAX_AMOUNT:
            raise ValidationFailed.field("amount_off", f"must be from 1 to {MAX_AMOUNT}")
        if not values["currency"]:
            raise ValidationFailed.field("currency", "is required with amount_off")
        values["currency"] = values["currency"].upper()


def _check_limits(promo: PromoCode, values: dict) -> None:
    most = values["max_redemptions"]
    if most is not None and not 1 <= most <= MAX_REDEMPTIONS:
        raise ValidationFailed.field("max_redemptions", f"must be from 1 to {MAX_REDEMPTIONS}")
    if most is not None and most < (promo.times_redeemed or 0):
        raise ValidationFailed.field(
            "max_redemptions", f"{promo.times_redeemed} uses were already made; it cannot be lower"
        )
    per_fan = values["per_fan_limit"]
    if per_fan is not None and not 1 <= per_fan <= MAX_PER_FAN:
        raise ValidationFailed.field("per_fan_limit", f"must be from 1 to {MAX_PER_FAN}")
    starts, ends = values["starts_at"], values["ends_at"]
    if starts is not None and ends is not None and ends <= starts:
        raise ValidationFailed.field("ends_at", "must be after starts_at")


def _check_scope(session: Session, partner_id: str, values: dict) -> None:
    if values["event_id"] is not None and values["trip_id"] is not None:
        raise ValidationFailed.field("trip_id", "give event_id or trip_id, not both")
    for name, model in (("event_id", Event), ("trip_id", Trip)):
        value = values[name]
        if value is not None:
            row = session.get(model, value) if is_id(value) else None
            if row is None or row.partner_id != partner_id:
                raise ValidationFailed.field(name, "no such object")


def clean_price_steps(steps: list[dict], field: str = "price_steps") -> list[dict]:
    """A trip's price steps as stored: [{"starts_at": RFC 3339, "unit_amount"}] in time
    order, distinct times, amounts from 0 to MAX_AMOUNT (datetimes or RFC 3339 strings in)."""
    if len(steps) > MAX_STEPS:
        raise ValidationFailed.field(field, f"at most {MAX_STEPS} steps")
    cleaned = []
    for index, step in enumerate(steps):
        amount = step.get("unit_amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= MAX_AMOUNT:
            raise ValidationFailed.field(
                f"{field}.{index}.unit_amount", f"must be from 0 to {MAX_AMOUNT}"
            )
        starts_at = step.get("starts_at")
        if not isinstance(starts_at, datetime):
            raise ValidationFailed.field(f"{field}.{index}.starts_at", "must be a date-time")
        cleaned.append((starts_at, amount))
    cleaned.sort()
    times = [starts_at for starts_at, _ in cleaned]
    if len(set(times)) != len(times):
        raise ValidationFailed.field(field, "two steps start at the same time")
    return [{"starts_at": rfc3339(at), "unit_amount": amount} for at, amount in cleaned]


def clean_group_tiers(tiers: list[dict], field: str = "group_tiers") -> list[dict]:
    """Group tiers as stored: [{"min_seats" (2..), "percent_off" (1..100)}] by seats, one per
    seat count."""
    if len(tiers) > MAX_TIERS:
        raise ValidationFailed.field(field, f"at most {MAX_TIERS} tiers")
    cleaned = []
    for index, tier in enumerate(tiers):
        seats, percent = tier.get("min_seats"), tier.get("percent_off")
        if not isinstance(seats, int) or isinstance(seats, bool) or not 2 <= seats <= 1000:
            raise ValidationFailed.field(f"{field}.{index}.min_seats", "must be from 2 to 1000")
        if not isinstance(percent, int) or isinstance(percent, bool) or not 1 <= percent <= 100:
            raise ValidationFailed.field(f"{field}.{index}.percent_off", "must be from 1 to 100")
        cleaned.append({"min_seats": seats, "percent_off": percent})
    cleaned.sort(key=lambda tier: tier["min_seats"])
    if len({tier["min_seats"] for tier in cleaned}) != len(cleaned):
        raise ValidationFailed.field(field, "two tiers start at the same number of seats")
    return cleaned
