"""The manifest: who boards where, as data and as a spreadsheet-safe CSV."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from widget_server.models import Pledge, Trip
from widget_server.models.types import rfc3339

ON_MANIFEST = ("pledged", "charging", "paid", "action_required")


def build_manifest(session: Session, trip: Trip) -> dict:
    """Riders per stop in stop order; riders sorted by name. Seats of live pledges only."""
    pledges = list(
        session.scalars(
            select(Pledge)
            .where(Pledge.trip_id == trip.id, Pledge.status.in_(ON_MANIFEST))
            .order_by(Pledge.name, Pledge.id)
        )
    )
    stops = []
    for stop in trip.stops:
        riders = [
            {
                "pledge_id": p.id,
                "name": p.name,
                "email": p.email,
                "phone": p.phone,
                "seats": p.seats,
                "status": p.status,
            }
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
                "riders": riders,
            }
        )
    return {
        "object": "manifest",
        "trip_id": trip.id,
        "trip_status": trip.status,
        "event": {"id": trip.event.id, "title": trip.event.title, "venue": trip.event.venue},
        "operator": {"name": trip.operator_name, "phone": trip.operator_phone},
        "seats": sum(stop["seats"] for stop in stops),
        "stops": stops,
    }


CSV_COLUMNS = ("stop", "departs_at", "pledge_id", "name", "phone", "email", "seats", "status")
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
    """One row per rider of `build_manifest`'s result; every text cell defused."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for stop in manifest["stops"]:
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
            )
            writer.writerow([defuse_cell(cell) for cell in row])
    return out.getvalue()
