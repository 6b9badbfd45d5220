"""Pricing: the one rule every amount comes from (`rules.price_pledge`), promo codes
(`promos`), and what partners set (`settings`). See docs/pricing.md."""

from widget_server.domain.pricing.rules import (
    AddOnLine,
    PriceBreakdown,
    PromoTerms,
    percent_of,
    price_lines,
    price_pledge,
    unit_amount_at,
)

__all__ = [
    "AddOnLine",
    "PriceBreakdown",
    "PromoTerms",
    "percent_of",
    "price_lines",
    "price_pledge",
    "unit_amount_at",
]
