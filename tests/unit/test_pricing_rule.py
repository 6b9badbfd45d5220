"""The one pricing rule (domain/pricing/rules.py): steps, tiers, promo codes, add-ons and the
rounding rule, in integer minor units."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from widget_server.domain.pricing import AddOnLine, PromoTerms, percent_of, price_pledge

AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _trip(unit_amount=2500, steps=(), tiers=None, event_tiers=()):
    return SimpleNamespace(
        unit_amount=unit_amount,
        currency="USD",
        price_steps=list(steps),
        group_tiers=tiers,
        event=SimpleNamespace(group_tiers=list(event_tiers)),
    )


def test_rounding_is_to_the_nearest_unit_with_halves_in_the_fans_favour():
    assert percent_of(1005, 10) == 101  # 100.5 -> 101 off
    assert percent_of(1004, 10) == 100  # 100.4 -> 100
    assert percent_of(1006, 10) == 101
    assert percent_of(0, 50) == 0
    assert percent_of(999, 100) == 999


def test_plain_price_is_seats_times_unit():
    price = price_pledge(_trip(), 3, AT)
    assert (price.unit_amount, price.subtotal, price.discount_amount, price.amount) == (
        2500,
        7500,
        0,
        7500,
    )
    assert price.price_valid_until is None


def test_price_steps_up_on_dates_and_says_until_when():
    steps = [
        {"starts_at": "2026-12-10T00:00:00Z", "unit_amount": 3000},
        {"starts_at": "2026-11-01T00:00:00Z", "unit_amount": 2000},
    ]
    price = price_pledge(_trip(steps=steps), 2, AT)
    assert price.unit_amount == 2000
    assert price.price_valid_until == datetime(2026, 12, 10, tzinfo=UTC)
    later = price_pledge(_trip(steps=steps), 2, datetime(2026, 12, 10, tzinfo=UTC))
    assert (later.unit_amount, later.amount, later.price_valid_until) == (3000, 6000, None)
    before = price_pledge(_trip(steps=steps), 1, datetime(2026, 10, 1, tzinfo=UTC))
    assert before.unit_amount == 2500


def test_group_tier_from_its_seats_and_the_event_tier_when_the_trip_has_none():
    tiers = [{"min_seats": 4, "percent_off": 10}, {"min_seats": 8, "percent_off": 20}]
    assert price_pledge(_trip(tiers=tiers), 3, AT).tier_discount == 0
    four = price_pledge(_trip(tiers=tiers), 4, AT)
    assert (four.tier_percent_off, four.tier_discount, four.amount) == (10, 1000, 9000)
    assert price_pledge(_trip(tiers=tiers), 9, AT).tier_percent_off == 20
    from_event = price_pledge(_trip(event_tiers=tiers), 4, AT)
    assert from_event.tier_discount == 1000
    # A trip's own (empty) tiers override its event's.
    assert price_pledge(_trip(tiers=[], event_tiers=tiers), 4, AT).tier_discount == 0


def test_promo_applies_after_the_tier_and_never_below_zero():
    tiers = [{"min_seats": 4, "percent_off": 10}]
    price = price_pledge(_trip(tiers=tiers), 4, AT, PromoTerms("FANS", percent_off=20))
    # 10,000 - 1,000 (tier) = 9,000; 20% of that = 1,800.
    assert (price.tier_discount, price.promo_discount, price.amount) == (1000, 1800, 7200)
    assert price.discount_amount == 2800
    huge = price_pledge(_trip(), 2, AT, PromoTerms("ALL", amount_off=9_000))
    assert (huge.promo_discount, huge.amount) == (5000, 0)
    per_seat = price_pledge(_trip(), 3, AT, PromoTerms("FIVE", amount_off=500))
    assert (per_seat.promo_discount, per_seat.amount) == (1500, 6000)


def test_add_ons_are_added_undiscounted_and_every_line_adds_up():
    scarf = AddOnLine("add_1", "Scarf", 1999, 2)
    price = price_pledge(_trip(), 3, AT, PromoTerms("X", percent_off=33), [scarf])
    lines = price.as_json()
    assert lines["add_ons"][0]["amount"] == 3998
    assert lines["subtotal"] - lines["discount_amount"] + lines["add_ons_amount"] == price.amount
    assert price.promo_discount == percent_of(7500, 33) == 2475
    assert price.amount == 7500 - 2475 + 3998
