"""Trip day: driver links and check-ins.

A check-in names a pledge by its boarding code (typed or scanned) or, when the driver taps a
name on the manifest, by its id. Every check-in gets one of CHECKIN_RESULTS. Devices may be
offline: they send each check-in later with the id they made for it and the time it happened.

- The same (trip, client id) is applied once: the row is claimed first with an
  INSERT .. ON CONFLICT DO NOTHING, and a repeat gets the stored first answer, changing nothing.
- A pledge boards once: `boardings` has the pledge as its primary key, claimed the same way. A
  second `ok`-worthy check-in from another device answers `already_boarded` and flags the
  boarding (`double_boarded`): two offline phones both let the fan on, which is not an error
  for the driver but something the partner should see.
- Only a `paid` pledge ever boards, and not once its refund is requested (`canceled`).
- Two devices are told apart by the id each phone made for itself (`device_id`), not by the
  name the driver may edit; a check-in without one (a page from before ids) falls back to the
  name.
- The time a device says a check-in happened must lie after the driver link it was made under
  was issued and at most CLOCK_SKEW ahead of our clock; otherwise 422 naming `at`.
- A check-in queued offline under a link that was then replaced is sent by the page of the new
  link with `made_under` (the old link's token): accepted if that link is of the same trip and
  older; its time is checked against the old link's issue time.
- A boarding can be undone (`undo_boarding`): audited with who and when; the rider can board
  again.

Both claims are single statements, so they hold on SQLite (one writer at a time) and on
PostgreSQL (the second insert waits for the first to commit, then does nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, inspect, select, update
from sqlalchemy.orm import Session

from widget_server.domain import boarding as codes
from widget_server.domain.audit import record
from widget_server.domain.errors import Conflict, NotFound, ValidationFailed
from widget_server.domain.notify import queue_driver_link_email
from widget_server.domain.text import normalize_email
from widget_server.models import Boarding, CheckIn, Pledge, Trip
from widget_server.models.types import utcnow
from widget_server.representations import PledgeSchema, UTCDateTime
from widget_server.webhooks.outbox import emit

NOT_PAID = ("pledged", "charging", "action_required")
# How far a device's clock may be off ours before we call its time wrong: ahead (a check-in
# in the future) or behind (a check-in just before the link it was made under was issued).
# Phones set their clocks from the network; a clock further off is one the driver should fix,
# and the page offers to (driver.js: "Fix the time").
CLOCK_SKEW = timedelta(minutes=5)
_iso = UTCDateTime()._serialize


def iso(moment: datetime | None) -> str | None:
    return _iso(moment, None, None)


def insert_if_absent(session: Session, model, **values) -> bool:
    """INSERT the row unless its unique key exists; True if this call inserted it."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    key = inspect(model).primary_key[0]
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(key)
    # RETURNING, not rowcount: the ORM session does not report a rowcount on PostgreSQL.
    return session.execute(statement).first() is not None


# --- driver links -------------------------------------------------------------------------


def default_link_expiry(trip: Trip, now: datetime) -> datetime:
    """Until the day after the game (the ride home is on the manifest too)."""
    return max(trip.event.starts_at, now) + timedelta(hours=24)


def issue_driver_link(
    session: Session,
    trip: Trip,
    *,
    actor: str,
    expires_at: datetime | None = None,
    issued_at: datetime | None = None,
) -> int:
    """A new link generation for the trip (ending every older link), issued at `issued_at` and
    valid until `expires_at`; returns it."""
    if trip.status == "draft":
        raise Conflict("open the trip before issuing a driver link")
    generation = session.execute(
        update(Trip)
        .where(Trip.id == trip.id)
        .values(
            driver_link_generation=Trip.driver_link_generation + 1,
            driver_link_expires_at=expires_at,
            driver_link_issued_at=issued_at,
        )
        .returning(Trip.driver_link_generation)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    session.expire(trip)
    record(session, trip.partner_id, actor, "trip.driver_link_issued", "trip", trip.id)
    return generation


@dataclass(frozen=True)
class DriverLink:
    trip_id: str
    generation: int
    expires_at: datetime
    # When it was issued; None for a token signed before links carried it.
    issued_at: datetime | None = None


def _link_serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="ridepledge.driver-link")


def driver_token(secret: str, link: DriverLink) -> str:
    """The signed token of a driver link (the last part of its URL)."""
    value = [link.trip_id, link.generation, int(link.expires_at.timestamp())]
    if link.issued_at is not None:
        value.append(int(link.issued_at.timestamp()))
    return _link_serializer(secret).dumps(value)


def driver_url(public_base_url: str, secret: str, link: DriverLink) -> str:
    """The full address of a driver link: the driver's page."""
    return f"{public_base_url}/d/{driver_token(secret, link)}"


def read_driver_token(secret: str, token: str) -> DriverLink | None:
    """The link a token stands for, or None if we did not sign it. Expiry and generation are
    the caller's to check against the trip and the clock."""
    try:
        value = _link_serializer(secret).loads(token)
    except BadSignature:
        return None
    if not (isinstance(value, list) and len(value) in (3, 4)):
        return None
    trip_id, generation, expires, *issued = value
    if not (isinstance(trip_id, str) and isinstance(generation, int) and isinstance(expires, int)):
        return None
    if issued and not isinstance(issued[0], int):
        return None
    issued_at = datetime.fromtimestamp(issued[0], UTC) if issued else None
    return DriverLink(trip_id, generation, datetime.fromtimestamp(expires, UTC), issued_at)


def new_driver_link(session: Session, trip: Trip, *, actor: str, now=None) -> DriverLink:
    """Issue the trip's new driver link (ending the old ones)."""
    now = (now or utcnow()).replace(microsecond=0)
    expires_at = default_link_expiry(trip, now).replace(microsecond=0)
    generation = issue_driver_link(session, trip, actor=actor, expires_at=expires_at, issued_at=now)
    return DriverLink(trip.id, generation, expires_at, now)


def link_is_live(link: DriverLink, trip: Trip, now: datetime | None = None) -> bool:
    return link.generation == trip.driver_link_generation and link.expires_at > (now or utcnow())


def current_driver_link(trip: Trip, now: datetime | None = None) -> DriverLink | None:
    """The trip's live driver link (the last one issued, not revoked, not expired), or None."""
    if trip.driver_link_expires_at is None or trip.driver_link_generation == 0:
        return None
    link = DriverLink(
        trip.id,
        trip.driver_link_generation,
        trip.driver_link_expires_at,
        trip.driver_link_issued_at,
    )
    return link if link_is_live(link, trip, now) else None


def email_driver_link(session: Session, trip: Trip, to_address: str, *, actor: str) -> str:
    """Email the trip's live driver link to `to_address` (the operator's or a typed address),
    in the partner's language; audited. The link itself is signed at send time, so the outbox
    row holds no working link, and an email still queued when a newer link is issued is not
    sent. Returns the normalised address."""
    try:
        address = normalize_email(to_address or "")
    except ValueError as exc:
        raise ValidationFailed.field("email", str(exc)) from None
    link = current_driver_link(trip)
    if link is None:
        raise Conflict("issue a driver link before emailing it")
    queue_driver_link_email(session, trip, address, generation=link.generation)
    record(
        session,
        trip.partner_id,
        actor,
        "trip.driver_link_emailed",
        "trip",
        trip.id,
        {"to": address},
    )
    return address


def revoke_driver_links(session: Session, trip: Trip, *, actor: str) -> None:
    """End every driver link of the trip without issuing a new one."""
    session.execute(
        update(Trip)
        .where(Trip.id == trip.id)
        .values(
            driver_link_generation=Trip.driver_link_generation + 1,
            driver_link_expires_at=None,
            driver_link_issued_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.expire(trip)
    record(session, trip.partner_id, actor, "trip.driver_links_revoked", "trip", trip.id)


def replaced_link(secret: str, token: str, live: DriverLink) -> DriverLink:
    """The earlier link of the same trip a queued check-in was made under (its token sent as
    `made_under` under the live link), or 422 naming `made_under`."""
    link = read_driver_token(secret, token)
    if link is None or link.trip_id != live.trip_id or link.generation > live.generation:
        raise ValidationFailed.field("made_under", "is not an earlier driver link of this trip")
    return link


# --- check-ins ----------------------------------------------------------------------------


def check_time(trip: Trip, link: DriverLink, happened_at: datetime, now: datetime) -> None:
    """Refuse (422 naming `at`) a time ahead of our clock or before `link` (the one the
    check-in was made under) was issued; for a link without its issue time, before the trip
    was created."""
    if happened_at > now + CLOCK_SKEW:
        raise ValidationFailed.field("at", "is in the future; check the device's clock")
    issued = link.issued_at or trip.created_at
    if happened_at < issued - CLOCK_SKEW:
        raise ValidationFailed.field(
            "at",
            f"is before the driver link was issued ({iso(issued)}); check the device's clock",
        )


def _identify(session: Session, secret: str, trip: Trip, code: str | None, pledge_id: str | None):
    if code:
        return codes.find_pledge(session, secret, trip, code).pledge
    pledge = session.get(Pledge, pledge_id) if pledge_id else None
    return pledge if pledge is not None and pledge.partner_id == trip.partner_id else None


def _result_for(trip: Trip, pledge: Pledge | None) -> str:
    if pledge is None:
        return "unknown"
    if pledge.trip_id != trip.id:
        return "other_trip"
    if pledge.status in NOT_PAID:
        return "not_paid"
    if pledge.status != "paid" or pledge.refund_requested_at is not None:
        # A refund on its way (the trip or the pledge was canceled, the money is going back)
        # is `canceled` for the driver, as the refunded pledge it is about to become.
        return "canceled"
    return "ok"


def _rider(pledge: Pledge) -> dict:
    return {
        "id": pledge.id,
        "name": pledge.name,
        "seats": pledge.seats,
        "status": pledge.status,
        "stop_id": pledge.stop_id,
        "stop_name": pledge.stop.name,
    }


def check_in(
    session: Session,
    secret: str,
    trip: Trip,
    *,
    client_id: str,
    happened_at: datetime,
    device: str,
    link: DriverLink,
    device_id: str | None = None,
    code: str | None = None,
    pledge_id: str | None = None,
    now: datetime | None = None,
) -> dict:
    """Apply one check-in (once per client id) and return its answer (the first answer again
    for a repeat). `link` is the driver link it was made under (the live one, or the one it
    replaced: `replaced_link`)."""
    now = now or utcnow()
    if not code and not pledge_id:
        raise ValidationFailed.field("code", "send the boarding code (or the pledge_id)")
    check_time(trip, link, happened_at, now)
    claimed = insert_if_absent(
        session,
        CheckIn,
        trip_id=trip.id,
        client_id=client_id,
        code=code,
        pledge_id=None,
        device=device,
        device_id=device_id,
        result="unknown",
        happened_at=happened_at,
        received_at=now,
        response={},
    )
    row = session.scalar(
        select(CheckIn).where(CheckIn.trip_id == trip.id, CheckIn.client_id == client_id)
    )
    if not claimed:
        return row.response

    pledge = _identify(session, secret, trip, code, pledge_id)
    result = _result_for(trip, pledge)
    answer: dict = {
        "object": "checkin",
        "id": client_id,
        "result": result,
        "at": iso(happened_at),
        "received_at": iso(now),
        "device": device,
        "pledge": _rider(pledge) if pledge is not None and result != "other_trip" else None,
        "boarded": None,
        "double_boarded": False,
    }
    if result == "ok":
        answer.update(_board(session, trip, pledge, client_id, (device, device_id), happened_at))
    row.pledge_id = pledge.id if pledge is not None and result != "other_trip" else None
    row.result = answer["result"]
    row.response = answer
    session.flush()
    return answer


def _board(session, trip, pledge, client_id, device_of, happened_at) -> dict:
    """Board a paid pledge, or say it already is (flagging a second device). `device_of` is
    the device's (name, id)."""
    device, device_id = device_of
    first = insert_if_absent(
        session,
        Boarding,
        pledge_id=pledge.id,
        trip_id=trip.id,
        boarded_at=happened_at,
        device=device,
        device_id=device_id,
        checkin_client_id=client_id,
        double_boarded=False,
    )
    boarding = session.get(Boarding, pledge.id, populate_existing=True)
    if first:
        record(session, trip.partner_id, f"driver:{device}", "pledge.boarded", "pledge", pledge.id)
        emit(
            session,
            trip.partner_id,
            "pledge.boarded",
            {
                **PledgeSchema().dump(pledge),
                "boarded_at": iso(happened_at),
                "boarded_by": device,
            },
        )
        return {"boarded": {"at": iso(happened_at), "device": device}}
    if not _same_device(boarding, device, device_id) and not boarding.double_boarded:
        boarding.double_boarded = True
        boarding.second_device = device
        boarding.second_boarded_at = happened_at
        record(
            session,
            trip.partner_id,
            f"driver:{device}",
            "pledge.double_boarded",
            "pledge",
            pledge.id,
            {"first_device": boarding.device},
        )
    return {
        "result": "already_boarded",
        "boarded": {"at": iso(boarding.boarded_at), "device": boarding.device},
        "double_boarded": boarding.double_boarded,
    }


def _same_device(boarding: Boarding, device: str, device_id: str | None) -> bool:
    """Whether the boarding was made by this device: by the ids the phones made, when both
    have one; by name only for a check-in from a page that had none."""
    if boarding.device_id and device_id:
        return boarding.device_id == device_id
    return boarding.device == device


def undo_boarding(
    session: Session,
    trip: Trip,
    pledge_id: str,
    *,
    device: str,
    device_id: str | None = None,
    now: datetime | None = None,
) -> dict:
    """Undo the boarding of a pledge of this trip (a tap on the wrong name): the rider is not
    boarded any more and can board again. Audited with the boarding undone, who undid it and
    when; the check-ins stay as they were sent."""
    now = now or utcnow()
    boarding = session.get(Boarding, pledge_id) if isinstance(pledge_id, str) else None
    if boarding is None or boarding.trip_id != trip.id:
        pledge = session.get(Pledge, pledge_id) if isinstance(pledge_id, str) else None
        if pledge is None or pledge.trip_id != trip.id:
            raise NotFound("no such rider on this trip")
        raise Conflict("this rider is not boarded")
    # The boarding is claimed by its DELETE, as a check-in claims it by its INSERT: of two
    # phones undoing at once (or an undo read before a re-boarding), one deletes the row it
    # read and the other is told the rider is not boarded; nothing is audited twice.
    deleted = session.execute(
        delete(Boarding)
        .where(Boarding.pledge_id == pledge_id, Boarding.boarded_at == boarding.boarded_at)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.expunge(boarding)
    if deleted != 1:
        raise Conflict("this rider is not boarded")
    pledge = session.get(Pledge, pledge_id)
    record(
        session,
        trip.partner_id,
        f"driver:{device}",
        "pledge.boarding_undone",
        "pledge",
        pledge_id,
        {
            "boarded_at": iso(boarding.boarded_at),
            "boarded_by": boarding.device,
            "undone_at": iso(now),
            "undone_by": device,
            "device_id": device_id,
        },
    )
    session.flush()
    return {
        "object": "boarding_undone",
        "pledge": _rider(pledge),
        "undone": {"at": iso(now), "device": device},
    }


def boardings_of(session: Session, trip_id: str) -> dict[str, Boarding]:
    """The trip's boardings by pledge id."""
    rows = session.scalars(select(Boarding).where(Boarding.trip_id == trip_id))
    return {row.pledge_id: row for row in rows}
