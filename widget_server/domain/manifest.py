"""The manifest: who boards where and who has boarded, as data and as a spreadsheet-safe
CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from widget_server.domain.boarding import boarding_code_or_none
from widget_server.domain.checkin import boardings_of, iso
from widget_server.domain.pricing.add_ons import pledge_add_ons
from widget_server.domain.pricing.rules import decimal_text
from widget_server.domain.referrals import referral_counts
from widget_server.models import Pledge, Trip
from widget_server.models.types import rfc3339

ON_MANIFEST = ("pledged", "charging", "paid", "action_required")


def build_manifest(session: Session, trip: Trip, *, secret: str | None = None) -> dict:
    """Riders per stop in stop order; riders sorted by name. Seats of live pledges only.

    Each rider says whether (when, by which device) they boarded and whether two devices both
    boarded them; each stop and the trip count boarded seats. With `secret`, paid riders carry
    their `boarding_code` (the driver's page matches typed codes against it offline)."""
    pledges = list(
        session.scalars(
            select(Pledge)
            .where(Pledge.trip_id == trip.id, Pledge.status.in_(ON_MANIFEST))
            .order_by(Pledge.name, Pledge.id)
        )
    )
    boarded = boardings_of(session, trip.id)
    brought = referral_counts(session, [p.id for p in pledges])
    stops = []
    for stop in trip.stops:
        riders = [
            _rider(p, boarded.get(p.id), brought.get(p.id, 0), secret)
            for p in pledges
            if p.stop_id == stop.id
        ]
        stops.append(
            {
                "id": stop.id,
                "name": stop.name,
                "address": stop.address,
                "departs_at": rfc3339(stop.departs_at),
                "seats": sum(r["seats"] for r in riders),
                "boarded_seats": sum(r["seats"] for r in riders if r["boarded_at"]),
                "riders": riders,
            }
        )
    return {
        "object": "manifest",
        "trip_id": trip.id,
        "trip_status": trip.status,
        "event": {
            "id": trip.event.id,
            "title": trip.event.title,
            "venue": trip.event.venue,
            "timezone": trip.event.timezone,
        },
        "operator": {"name": trip.operator_name, "phone": trip.operator_phone},
        "seats": sum(stop["seats"] for stop in stops),
        "boarded_seats": sum(stop["boarded_seats"] for stop in stops),
        # Riders who came by a fan's share link (live pledges), and their seats.
        "referred_pledges": sum(1 for p in pledges if p.referred_by),
        "referred_seats": sum(p.seats for p in pledges if p.referred_by),
        "add_ons": _add_on_totals(stops),
        "stops": stops,
    }


def _add_on_totals(stops: list[dict]) -> list[dict]:
    """Each extra the riders bought, with how many in all (what the bus must bring)."""
    totals: dict[str, int] = {}
    for stop in stops:
        for rider in stop["riders"]:
            for line in rider["add_ons"]:
                totals[line["name"]] = totals.get(line["name"], 0) + line["quantity"]
    return [{"name": name, "quantity": quantity} for name, quantity in totals.items()]


def _rider(pledge: Pledge, boarding, referrals: int, secret: str | None) -> dict:
    rider = {
        "pledge_id": pledge.id,
        "name": pledge.name,
        "email": pledge.email,
        "phone": pledge.phone,
        "seats": pledge.seats,
        # The price the pledge locked (domain/pricing): what it is (or will be) charged.
        "amount": pledge.amount,
        "discount_amount": pledge.discount_amount,
        "promo_code": pledge.promo_code,
        "currency": pledge.currency,
        "status": pledge.status,
        "boarded_at": iso(boarding.boarded_at) if boarding else None,
        "boarded_by": boarding.device if boarding else None,
        "double_boarded": bool(boarding and boarding.double_boarded),
        "referred_by": pledge.referred_by,
        "referrals": referrals,
        "add_ons": [
            {"name": line["name"], "quantity": line["quantity"]} for line in pledge_add_ons(pledge)
        ],
    }
    if secret is not None:
        rider["boarding_code"] = boarding_code_or_none(secret, pledge)
    return rider


CSV_COLUMNS = (
    "stop",
    "departs_at",
    "pledge_id",
    "name",
    "phone",
    "email",
    "seats",
    "status",
    "boarding_code",
    "boarded_at",
    "boarded_by",
    "double_boarded",
    "referred_by",
    "referrals",
    "amount",
    "discount_amount",
    "promo_code",
    "currency",
    # `departs_at` and `boarded_at` are UTC (`Z`); these say the departure in the event's zone.
    "departs_local",
    "timezone",
    # The rider's extras: "2 × Scarf; 1 × Tailgate pass".
    "add_ons",
)
# A cell starting with one of these is read as a formula by Excel, LibreOffice and Google Sheets
# (OWASP "CSV injection"); tab and CR/LF start one after the spreadsheet trims them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def defuse_cell(value: object) -> object:
    """A text cell that a spreadsheet shows as text, never runs: a leading formula character
    gets a `'` in front (the usual escape). Numbers are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def manifest_csv(manifest: dict) -> str:
    """One row per rider of `build_manifest`'s result; every text cell defused. Times are UTC,
    and each row also gives its stop's departure in the event's time zone, naming the zone."""
    zone = (manifest.get("event") or {}).get("timezone") or "UTC"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for stop in manifest["stops"]:
        departs_local = _local(stop["departs_at"], zone)
        for rider in stop["riders"]:
            row = (
                stop["name"],
                stop["departs_at"],
                rider["pledge_id"],
                rider["name"],
                rider["phone"] or "",
                rider["email"],
                rider["seats"],
                rider["status"],
                rider.get("boarding_code") or "",
                rider["boarded_at"] or "",
                rider["boarded_by"] or "",
                "yes" if rider["double_boarded"] else "",
                rider["referred_by"] or "",
                rider["referrals"],
                _decimal(rider.get("amount"), rider.get("currency")),
                _decimal(rider.get("discount_amount"), rider.get("currency")),
                rider.get("promo_code") or "",
                rider.get("currency") or "",
                departs_local,
                zone,
                add_ons_text(rider["add_ons"]),
            )
            writer.writerow([defuse_cell(cell) for cell in row])
    return out.getvalue()


def add_ons_text(lines: list[dict]) -> str:
    """A rider's extras in one cell or line: "2 × Scarf; 1 × Tailgate pass"."""
    return "; ".join(f"{line['quantity']} × {line['name']}" for line in lines)


def _decimal(amount: int | None, currency: str | None) -> str:
    """Minor units as the decimal amount a spreadsheet sums (3550 USD -> "35.50")."""
    return "" if amount is None or not currency else decimal_text(amount, currency)


def _local(moment: str, zone: str) -> str:
    """An RFC 3339 UTC time (`2030-11-15T00:10:00Z`) in `zone`, with its offset."""
    utc = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return utc.astimezone(ZoneInfo(zone)).isoformat()
