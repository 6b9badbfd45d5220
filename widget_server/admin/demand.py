"""Demand: for each event, where fans ask for a trip from (domain/demand.py), most asked first,
as a bar chart drawn here as inline SVG and as a table with the same numbers, with "start a
draft trip from here" for editors (the new-trip form, prefilled)."""

from __future__ import annotations

from flask import g, render_template, request
from sqlalchemy import select

from widget_server.admin import bp
from widget_server.admin.auth import owned, requires
from widget_server.domain.demand import demand_by_origin
from widget_server.extensions import db
from widget_server.models import Event

# Origins shown per event (the most asked); the API pages through all of them.
MAX_ORIGINS = 30
# The chart's geometry, in CSS pixels: a label line above each bar.
ROW_HEIGHT = 44
LABEL_BASELINE = 16
BAR_OFFSET = 22
BAR_HEIGHT = 14
LABEL_MAX_CHARACTERS = 34


def _label(origin: str, count: int) -> str:
    name = origin if len(origin) <= LABEL_MAX_CHARACTERS else origin[: LABEL_MAX_CHARACTERS - 1]
    return f"{name}{'…' if name != origin else ''}: {count}"


def bar_chart(rows: list[dict]) -> dict:
    """Where each bar goes. Widths are percentages of the chart's width and heights fixed
    pixels, so the SVG fills any width (360 px phones to 1280 px screens) with text at its
    real size, never scaled down."""
    top = max((row["count"] for row in rows), default=0) or 1
    bars = [
        {
            "label": _label(row["origin"], row["count"]),
            "label_y": index * ROW_HEIGHT + LABEL_BASELINE,
            "bar_y": index * ROW_HEIGHT + BAR_OFFSET,
            "width": max(round(row["count"] / top * 100, 1), 0.5),
            "has_trip": row["has_trip"],
        }
        for index, row in enumerate(rows)
    ]
    return {"bars": bars, "height": len(rows) * ROW_HEIGHT, "bar_height": BAR_HEIGHT}


@bp.get("/demand")
@requires("view")
def demand():
    """Every event's requests per origin, or one event's (`?event=`; another partner's event
    is a 404)."""
    events = list(
        db.session.scalars(
            select(Event).where(Event.partner_id == g.partner.id).order_by(Event.starts_at)
        )
    )
    chosen_id = (request.args.get("event") or "").strip()[:40]
    chosen = owned(Event, chosen_id) if chosen_id else None
    sections = []
    for event in [chosen] if chosen else events:
        rows = demand_by_origin(
            db.session, g.partner, event_id=event.id, offset=0, limit=MAX_ORIGINS + 1
        )
        if not rows and chosen is None:
            continue
        shown = rows[:MAX_ORIGINS]
        sections.append(
            {
                "event": event,
                "rows": shown,
                "more": len(rows) > MAX_ORIGINS,
                "chart": bar_chart(shown),
            }
        )
    return render_template(
        "admin/demand.html",
        events=events,
        chosen=chosen,
        sections=sections,
        max_origins=MAX_ORIGINS,
    )
