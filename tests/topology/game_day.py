"""A game-day spike through the topology (harness.py), and what must hold after it.

Each simulated fan's widget reads its trip's JSON through the proxy, then pledges 1 or 2 seats
as embed/widget.js does: one `Idempotency-Key` per attempt, sent again with the same key after
a network error, a timeout, a 5xx, a 429 or "still in progress", until a definite answer (201,
or a 4xx such as 409 sold out) or the fan gives up. Fans come from many addresses (see the
harness: `X-Forwarded-For` from the trusted front). Optionally one app host is killed when a
given share of the fans has been sent; a prober then reads through the proxy and times the
first answer from the surviving host.

`settle()` waits for the worker to charge every pledge of the confirmed trips; `check()` counts
what the fans were told against the database and the fake Stripe's own records.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import requests
from sqlalchemy import func, select

from tests.factories import make_event, make_partner, make_trip
from tests.topology.harness import Topology
from widget_server.extensions import db
from widget_server.models import Pledge, Trip
from widget_server.models.pledges import LIVE_STATUSES

ADDRESSES = 400
ATTEMPT_TIMEOUT = 15  # seconds a widget waits for one attempt's answer
UNSETTLED = {429, 500, 502, 503, 504}


def fan_address(index: int) -> str:
    n = index % ADDRESSES
    return f"198.20.{n // 250}.{n % 250 + 1}"


@dataclass
class Fan:
    index: int
    trip_id: str
    key: str
    email: str
    seats: int
    view_status: int | str = 0
    status: int | str = 0  # the pledge's definite answer (0: none within the fan's patience)
    pledge_id: str | None = None
    attempts: int = 0
    seconds: float = 0.0  # from the first attempt to the definite answer


@dataclass
class Spike:
    fans: list[Fan] = field(default_factory=list)
    wall: float = 0.0
    not_sent: int = 0
    answers: Counter = field(default_factory=Counter)  # every HTTP answer (or error) seen
    killed_at: float | None = None  # monotonic
    failover: float | None = None  # seconds from the kill to the survivor's first answer
    failed_reads: int = 0  # reads through the proxy that failed after the kill


def seed(topo: Topology, fans: int, trips: int) -> tuple[str, list[tuple[str, str]], int]:
    """A partner and `trips` open trips with seats for about 4 in 5 fans' wishes; each confirms
    at a quarter of its seats, so the worker charges while the spike runs."""
    capacity = max(4, int(fans * 1.5 * 0.8 / trips))
    with topo.app() as app, app.app_context(), db.transaction() as session:
        partner = make_partner(session, f"gameday-{uuid.uuid4().hex[:8]}")
        event = make_event(session, partner)
        made = [
            make_trip(session, partner, event=event, capacity=capacity, min_riders=capacity // 4)
            for _ in range(trips)
        ]
        return partner.slug, [(trip.id, trip.stops[0].id) for trip in made], capacity


def run(
    topo: Topology,
    slug: str,
    trips: list[tuple[str, str]],
    *,
    fans: int,
    seconds: float,
    clients: int,
    max_seconds: float,
    patience: float = 30,
    kill: str | None = None,
    kill_after: float = 0.5,
) -> Spike:
    """Fans arrive evenly over `seconds`; one not started within `max_seconds` is not sent; a
    fan retries for up to `patience` seconds. With `kill`, that app host is killed once
    `kill_after` of the fans have started."""
    spike = Spike()
    lock = threading.Lock()
    started = time.monotonic()
    queue = iter(range(fans))
    kill_at = int(fans * kill_after) if kill else None
    base = f"{topo.proxy_url}/w/{slug}/api/trips"

    def record(outcome) -> None:
        with lock:
            spike.answers[outcome] += 1

    def client() -> None:
        with requests.Session() as http:
            while True:
                with lock:
                    index = next(queue, None)
                    if index is not None and time.monotonic() - started > max_seconds:
                        spike.not_sent += 1
                        continue
                if index is None:
                    return
                if index == kill_at:
                    threading.Thread(target=_kill_and_probe, args=(topo, kill, spike)).start()
                delay = started + index * seconds / fans - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                trip_id, stop_id = trips[(index * 7) % len(trips)]
                fan = Fan(index, trip_id, str(uuid.uuid4()), f"fan{index}@gameday.example",
                          1 + index % 2)  # fmt: skip
                with lock:
                    spike.fans.append(fan)
                _one_fan(http, f"{base}/{trip_id}", stop_id, fan, record, patience)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spike.wall = time.monotonic() - started
    return spike


def _one_fan(http, url: str, stop_id: str, fan: Fan, record, patience: float) -> None:
    headers = {"X-Forwarded-For": fan_address(fan.index)}
    try:
        fan.view_status = http.get(url, headers=headers, timeout=ATTEMPT_TIMEOUT).status_code
    except requests.RequestException as exc:
        fan.view_status = type(exc).__name__
    record(("view", fan.view_status))
    body = {
        "stop_id": stop_id,
        "seats": fan.seats,
        "name": f"Fan {fan.index}",
        "email": fan.email,
        "payment_method": "pm_card_visa",
    }
    first = time.monotonic()
    give_up, pause = first + patience, 0.2
    while True:
        fan.attempts += 1
        try:
            answer = http.post(
                url + "/pledges",
                json=body,
                headers={**headers, "Idempotency-Key": fan.key},
                timeout=ATTEMPT_TIMEOUT,
            )
            status: int | str = answer.status_code
            payload = answer.json() if "json" in answer.headers.get("Content-Type", "") else {}
        except requests.RequestException as exc:
            status, payload = type(exc).__name__, {}
        record(("pledge", status))
        in_progress = str(payload.get("type", "")).endswith("idempotency-in-progress")
        if isinstance(status, int) and status not in UNSETTLED and not in_progress:
            fan.status, fan.seconds = status, time.monotonic() - first
            fan.pledge_id = (payload.get("pledge") or {}).get("id") if status == 201 else None
            return
        if time.monotonic() + pause > give_up:
            return  # no definite answer: the fan's widget still shows "try again"
        time.sleep(pause)
        pause = min(pause * 2, 2.0)


def _kill_and_probe(topo: Topology, host: str, spike: Spike) -> None:
    """Kill `host`, then read through the proxy until the survivor answers (bounded). The read
    is `/livez` (no cache, no query): what is timed is the proxy finding the survivor."""
    topo.kill(host)
    spike.killed_at = time.monotonic()
    deadline = spike.killed_at + 10
    with requests.Session() as http:
        while time.monotonic() < deadline:
            try:
                ok = http.get(topo.proxy_url + "/livez", timeout=2).status_code == 200
            except requests.RequestException:
                ok = False
            if ok:
                spike.failover = time.monotonic() - spike.killed_at
                return
            spike.failed_reads += 1
            time.sleep(0.01)


def settle(topo: Topology, timeout: float, *, sweep: bool = False) -> float:
    """Wait (bounded) until no pledge of a confirmed trip waits for its charge to start;
    returns the seconds it took. With `sweep`, a settlement sweep runs on the worker host
    meanwhile (instead of waiting for the minute's): it charges what a killed host's lost jobs
    would have. A charge a killed host had started stays `charging` until its claim counts as
    abandoned; a later sweep finishes it with the same provider key."""
    started = time.monotonic()
    sweeping = (
        topo.start("worker", topo.ridepledge("settle"), topo.env("worker")) if sweep else None
    )
    try:
        with topo.app() as app, app.app_context():
            while time.monotonic() - started < timeout:
                waiting = db.session.scalar(
                    select(func.count())
                    .select_from(Pledge)
                    .join(Trip, Trip.id == Pledge.trip_id)
                    .where(Trip.status == "confirmed", Pledge.status == "pledged")
                )
                db.session.rollback()
                if not waiting:
                    break
                time.sleep(0.5)
    finally:
        if sweeping is not None and sweeping.poll() is None:
            sweeping.kill()
            sweeping.wait()
    return time.monotonic() - started


@dataclass
class Verdict:
    lines: list[str]
    problems: list[str]


def check(topo: Topology, spike: Spike, trips: list[tuple[str, str]]) -> Verdict:
    """What the fans were told against the database and the fake Stripe's records."""
    problems: list[str] = []
    with topo.app() as app, app.app_context():
        rows = db.session.execute(
            select(Pledge.id, Pledge.email, Pledge.status, Pledge.trip_id).where(
                Pledge.trip_id.in_([trip_id for trip_id, _ in trips])
            )
        ).all()
        by_email = Counter(email for _, email, _, _ in rows)
        ids = {pledge_id: (email, status) for pledge_id, email, status, _ in rows}
        seats_exact = True
        for trip_id, _ in trips:
            trip = db.session.get(Trip, trip_id)
            live = db.session.scalar(
                select(func.coalesce(func.sum(Pledge.seats), 0)).where(
                    Pledge.trip_id == trip_id, Pledge.status.in_(LIVE_STATUSES)
                )
            )
            if not trip.seats_pledged == live <= trip.capacity:
                seats_exact = False
                problems.append(f"trip {trip_id}: seats_pledged {trip.seats_pledged}, live {live}")
    lost = [f for f in spike.fans if f.status == 201 and ids.get(f.pledge_id, ("",))[0] != f.email]
    duplicated = [email for email, n in by_email.items() if n > 1]
    refused = [f for f in spike.fans if f.status not in (0, 201) and by_email[f.email]]
    unanswered = [f for f in spike.fans if f.status == 0]
    charges = Counter(
        intent["metadata"].get("pledge_id")
        for intent in topo.stripe.succeeded_charges()
        if intent["metadata"].get("pledge_id") in ids
    )
    twice = [pledge_id for pledge_id, n in charges.items() if n > 1]
    paid = [pledge_id for pledge_id, (_, status) in ids.items() if status == "paid"]
    charging = sum(1 for _, status in ids.values() if status == "charging")
    paid_uncharged = [pledge_id for pledge_id in paid if charges[pledge_id] != 1]
    if lost:
        problems.append(f"{len(lost)} pledges answered 201 but not stored")
    if duplicated:
        problems.append(f"{len(duplicated)} fans with more than one pledge")
    if refused:
        problems.append(f"{len(refused)} fans refused (4xx) who have a pledge")
    if twice:
        problems.append(f"{len(twice)} pledges charged more than once")
    if paid_uncharged:
        problems.append(f"{len(paid_uncharged)} pledges paid without exactly one charge")
    created = sum(1 for f in spike.fans if f.status == 201)
    lines = [
        f"pledges        {created} answered 201, {len(rows)} stored; lost {len(lost)},"
        f" duplicated {len(duplicated)}, refused-but-stored {len(refused)},"
        f" no definite answer {len(unanswered)}",
        f"charges        {sum(charges.values())} at the fake Stripe for {len(paid)} paid pledges"
        f" ({charging} left charging by a killed host); charged twice {len(twice)}",
        "seats          every trip: seats_pledged == live pledge seats <= capacity: "
        + ("exact" if seats_exact else "MISMATCH"),
    ]
    return Verdict(lines, problems)
