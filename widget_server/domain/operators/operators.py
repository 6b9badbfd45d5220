"""Operators' compliance (minimal until ops-core's module is merged: same names and codes)."""

from __future__ import annotations

from datetime import date

MISSING_USDOT = "missing_usdot"
NO_INSURANCE = "insurance_missing"
INSURANCE_EXPIRED = "insurance_expired"
INSURANCE_ENDS_BEFORE = "insurance_ends_before_event"


def award_blockers(operator, on_date: date, *, today: date | None = None) -> list[str]:
    """Why `operator` may not be awarded a trip running on `on_date` (codes); empty if none."""
    today = today or date.today()
    blockers = []
    if not operator.usdot_number:
        blockers.append(MISSING_USDOT)
    expires = operator.insurance_expires_on
    if expires is None:
        blockers.append(NO_INSURANCE)
    elif expires < today:
        blockers.append(INSURANCE_EXPIRED)
    elif expires < on_date:
        blockers.append(INSURANCE_ENDS_BEFORE)
    return blockers
