"""Demand signals: fans asking for a trip from an origin that has none.

What counts toward a partner's `demand_threshold` is the number of distinct *requesting
networks* (an IPv4 address, an IPv6 /64), not of emails: one person typing twenty made-up
emails from one place counts once. Each fan's email is still kept once (unique per event and
origin) so every one of them can be told when a trip opens. The count lives in
`demand_tallies`, whose row is locked while one request is counted, so exactly one request
crosses the threshold and `demand.threshold_reached` is sent once, whatever the concurrency.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import unicodedata

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.errors import ValidationFailed
from widget_server.domain.text import email_key
from widget_server.models import DemandSignal, DemandTally, Event, Partner, Trip
from widget_server.models.types import rfc3339, utcnow
from widget_server.webhooks.outbox import emit


def address_key(address: str | None, key: bytes) -> str:
    """The requester's network as an HMAC under `key` (keys.py, "demand-addresses"): IPv4 as
    is, IPv6 by its /64 (one household or phone gets a whole /64)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        network = "unknown"
    else:
        mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:a.b.c.d is the IPv4 a.b.c.d
        if mapped is not None:
            network = str(mapped)
        elif ip.version == 6:
            network = str(ipaddress.ip_network(f"{ip}/64", strict=False))
        else:
            network = str(ip)
    return hmac.new(key, network.encode(), hashlib.sha256).hexdigest()


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
    address_key: str,
    locale: str = "en",
) -> tuple[DemandSignal, int]:
    """Record one fan's request for a trip from `origin`. A fan asking twice is kept once; a
    request from a network already counted for this event and origin does not count again.

    Returns the signal and how many distinct networks now ask for that origin and event.
    """
    event = session.scalar(
        select(Event).where(Event.id == event_id, Event.partner_id == partner.id)
    )
    if event is None:
        raise ValidationFailed.field("event_id", "no such event")
    key = origin_key(origin)
    if not key:
        raise ValidationFailed.field("origin", "must name a city, region or postal code")
    tally = _locked_tally(session, partner, event.id, key)
    email = email_key(email)
    signal = session.scalar(
        select(DemandSignal).where(
            DemandSignal.event_id == event.id,
            DemandSignal.origin_key == key,
            DemandSignal.email == email,
        )
    )
    if signal is not None:
        return signal, tally.count
    counted_before = session.scalar(
        select(func.count()).where(
            DemandSignal.event_id == event.id,
            DemandSignal.origin_key == key,
            DemandSignal.address_key == address_key,
        )
    )
    signal = DemandSignal(
        partner_id=partner.id,
        event_id=event.id,
        origin=origin.strip(),
        origin_key=key,
        email=email,
        address_key=address_key,
        locale=locale,
    )
    session.add(signal)
    if not counted_before:
        tally.count += 1
    session.flush()
    if tally.count >= partner.demand_threshold and tally.threshold_reached_at is None:
        tally.threshold_reached_at = utcnow()
        session.flush()
        summary = {
            "event_id": event.id,
            "origin": signal.origin,
            "count": tally.count,
            "threshold": partner.demand_threshold,
        }
        record(
            session, partner.id, "system", "demand.threshold_reached", "event", event.id, summary
        )
        emit(session, partner.id, "demand.threshold_reached", summary)
    return signal, tally.count


def _locked_tally(session: Session, partner: Partner, event_id: str, key: str) -> DemandTally:
    """The (event, origin) tally row, created if need be and locked until the commit: requests
    for one origin are counted one at a time (PostgreSQL: the row lock; SQLite: the insert
    takes the database's write lock)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(DemandTally)
        .values(event_id=event_id, origin_key=key, partner_id=partner.id, count=0)
        .on_conflict_do_nothing(index_elements=["event_id", "origin_key"])
    )
    return session.scalars(
        select(DemandTally)
        .where(DemandTally.event_id == event_id, DemandTally.origin_key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def demand_by_origin(
    session: Session, partner: Partner, *, event_id: str | None, offset: int, limit: int
) -> list[dict]:
    """Distinct requesting networks per (event, origin), most asked first."""
    query = (
        select(
            DemandSignal.event_id,
            DemandSignal.origin_key,
            func.min(DemandSignal.origin).label("origin"),
            func.count(func.distinct(DemandSignal.address_key)).label("count"),
            func.min(DemandSignal.created_at).label("first"),
            func.max(DemandSignal.created_at).label("last"),
        )
        .where(DemandSignal.partner_id == partner.id)
        .group_by(DemandSignal.event_id, DemandSignal.origin_key)
        .order_by(
            func.count(func.distinct(DemandSignal.address_key)).desc(),
            DemandSignal.origin_key,
            DemandSignal.event_id,
        )
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
