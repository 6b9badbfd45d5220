"""Demand signals: fans asking for a trip from an origin that has none."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.errors import ValidationFailed
from widget_server.models import DemandSignal, Event, Partner, Trip
from widget_server.models.types import rfc3339
from widget_server.webhooks.outbox import emit


def origin_key(origin: str) -> str:
    """Fold case, accents, punctuation and spacing: "St. Louis" and "st louis" count once."""
    decomposed = unicodedata.normalize("NFKD", origin.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", " ", plain).strip()


def record_demand(
    session: Session,
    partner: Partner,
    *,
    event_id: str,
    origin: str,
    email: str,
    locale: str = "en",
) -> tuple[DemandSignal, int]:
    """Count one fan's request for a trip from `origin`; the same fan asking twice counts once.

    Returns the signal and how many fans now ask for that origin and event.
    """
    event = session.scalar(
        select(Event).where(Event.id == event_id, Event.partner_id == partner.id)
    )
    if event is None:
        raise ValidationFailed.field("event_id", "no such event")
    key = origin_key(origin)
    if not key:
        raise ValidationFailed.field("origin", "must name a city, region or postal code")
    email = email.strip().lower()
    signal = session.scalar(
        select(DemandSignal).where(
            DemandSignal.event_id == event.id,
            DemandSignal.origin_key == key,
            DemandSignal.email == email,
        )
    )
    if signal is None:
        signal = DemandSignal(
            partner_id=partner.id,
            event_id=event.id,
            origin=origin.strip(),
            origin_key=key,
            email=email,
            locale=locale,
        )
        session.add(signal)
        session.flush()
    count = session.scalar(
        select(func.count()).where(
            DemandSignal.event_id == event.id, DemandSignal.origin_key == key
        )
    )
    if count == partner.demand_threshold:
        summary = {
            "event_id": event.id,
            "origin": signal.origin,
            "count": count,
            "threshold": partner.demand_threshold,
        }
        record(
            session, partner.id, "system", "demand.threshold_reached", "event", event.id, summary
        )
        emit(session, partner.id, "demand.threshold_reached", summary)
    return signal, count


def demand_by_origin(
    session: Session, partner: Partner, *, event_id: str | None, offset: int, limit: int
) -> list[dict]:
    """Distinct fans asking per (event, origin), most asked first."""
    query = (
        select(
            DemandSignal.event_id,
            DemandSignal.origin_key,
            func.min(DemandSignal.origin).label("origin"),
            func.count().label("count"),
            func.min(DemandSignal.created_at).label("first"),
            func.max(DemandSignal.created_at).label("last"),
        )
        .where(DemandSignal.partner_id == partner.id)
        .group_by(DemandSignal.event_id, DemandSignal.origin_key)
        .order_by(func.count().desc(), DemandSignal.origin_key, DemandSignal.event_id)
        .offset(offset)
        .limit(limit)
    )
    if event_id:
        query = query.where(DemandSignal.event_id == event_id)
    rows = session.execute(query).all()
    trips = session.execute(
        select(Trip.event_id, Trip.origin_name).where(Trip.partner_id == partner.id)
    ).all()
    served = {(trip.event_id, origin_key(trip.origin_name)) for trip in trips}
    return [
        {
            "event_id": row.event_id,
            "origin": row.origin,
            "origin_key": row.origin_key,
            "count": row.count,
            "first_requested_at": _iso(row.first),
            "last_requested_at": _iso(row.last),
            "has_trip": (row.event_id, row.origin_key) in served,
        }
        for row in rows
    ]


def _iso(value) -> str:
    return rfc3339(value)
