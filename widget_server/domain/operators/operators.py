"""Operators' compliance (minimal until ops-core's module is merged)."""

from __future__ import annotations

from datetime import date


def award_blockers(operator, on_date: date) -> list[str]:
    """Why the operator cannot be awarded a trip on `on_date`: no USDOT number, or insurance
    missing, expired or ending before that day. Empty when it can."""
    blockers = []
    if not operator.usdot_number:
        blockers.append("the operator has no USDOT number")
    if operator.insurance_expires_on is None:
        blockers.append("the operator's insurance expiry is not on file")
    elif operator.insurance_expires_on < on_date:
        blockers.append("the operator's insurance ends before the trip")
    return blockers
