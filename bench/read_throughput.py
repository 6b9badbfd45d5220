"""Targets 1 and 2, and live progress: public reads through the production topology
(tests/topology/harness.py: nginx from `ridepledge proxy-config` in front of two app hosts,
PostgreSQL and Redis on their own host), against the same nginx serving the same bytes from a
static file. wrk from 300 fan addresses (X-Forwarded-For from the trusted front), the edge's
and the app's rate limits on: what the edge refuses (429: over 100 requests a second from one
address) is not counted as answered, so with 300 addresses the proxy can answer at most about
300 x 100 a second whatever its speed.

1. public trip JSON: at least 0.8x the static file's requests/s;
2. the widget trip page: at least 0.5x;
live progress: 5,000 widgets poll one trip's JSON conditionally (If-None-Match, as the widget
does) while a fan pledges on it every half second: how many requests a second reach the app
hosts for it (one per cache second is the design).

    sudo .venv/bin/python bench/read_throughput.py [--seconds 10] [--connections 64]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from pathlib import Path

import requests
from common import REPO, machine, wrk

from tests.factories import make_partner, make_trip
from tests.topology.harness import Topology, available
from widget_server.extensions import db

POLL_SCRIPT = REPO / "bench" / "poll_trip.lua"
TRIP_ROUTE = "/w/<partner_slug>/api/trips/<trip_id>"


def pledge_every(url: str, stop_id: str, pause: float, stop: threading.Event) -> int:
    """A fan pledges on the polled trip every `pause` seconds (so its ETag keeps changing)."""
    made = 0
    with requests.Session() as http:
        while not stop.wait(pause):
            body = {
                "stop_id": stop_id,
                "seats": 1,
                "name": "Live Fan",
                "email": f"live-{uuid.uuid4().hex[:10]}@bench.example",
                "payment_method": "pm_card_visa",
            }
            headers = {"X-Forwarded-For": f"198.21.0.{made % 250 + 1}"}
            made += http.post(url, json=body, headers=headers, timeout=10).status_code == 201
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    why = available()
    if why:
        print(f"targets 1 and 2: not run ({why})")
        return 1
    results, live = {}, {}
    with Topology() as topo:
        with topo.app() as app, app.app_context(), db.transaction() as session:
            partner = make_partner(session, f"reads-{uuid.uuid4().hex[:8]}")
            trip = make_trip(session, partner, capacity=100_000, min_riders=90_000, stops=3)
            slug, trip_id, stop_id = partner.slug, trip.id, trip.stops[0].id
        base = f"{topo.proxy_url}/w/{slug}"
        pairs = {
            "trip JSON": (f"{base}/api/trips/{trip_id}", "trip.json"),
            "trip page": (f"{base}/trips/{trip_id}", "trip.html"),
        }
        for label, (url, name) in pairs.items():
            static = topo.static_file(name, requests.get(url, timeout=10).content)
            for kind, target in (("static", static), ("proxy", url)):
                wrk(target, seconds=2, connections=args.connections)  # warm up
                results[(label, kind)] = wrk(
                    target, seconds=args.seconds, connections=args.connections
                )
        # Live progress: conditional polls from 5,000 widget addresses, a pledge every 0.5 s.
        trip_url = f"{base}/api/trips/{trip_id}"
        stop = threading.Event()
        pledges: list[int] = []
        writer = threading.Thread(
            target=lambda: pledges.append(pledge_every(trip_url + "/pledges", stop_id, 0.5, stop))
        )
        before = topo.origin_requests("GET", TRIP_ROUTE)
        started = time.monotonic()
        writer.start()
        try:
            live["wrk"] = wrk(
                trip_url, seconds=args.seconds, connections=args.connections, lua=POLL_SCRIPT
            )
        finally:
            stop.set()
            writer.join()
        live["seconds"] = time.monotonic() - started
        live["origin"] = topo.origin_requests("GET", TRIP_ROUTE) - before
        live["pledges"] = pledges[0] if pledges else 0
    print("targets 1 and 2: reads through the edge proxy vs. the same proxy serving a file")
    print(f"  machine         {machine()}")
    print(
        f"  load            wrk -t1 -c{args.connections} -d{args.seconds}s, 300 fan addresses;"
        " nginx (proxy-config) -> 2 app hosts x 2 workers x 8 threads; PostgreSQL, Redis"
    )
    verdicts = []
    for label, target in (("trip JSON", 0.8), ("trip page", 0.5)):
        static, proxy = results[(label, "static")], results[(label, "proxy")]
        for kind, figures in (("static file", static), ("through proxy", proxy)):
            print(
                f"  {label} {kind:<14} {answered(figures):8.0f} answers/s (2xx)"
                f"  p50 {figures['p50']:6.2f} ms  p99 {figures['p99']:6.2f} ms"
                f"  + {figures['non_2xx'] / args.seconds:.0f}/s refused (429 from the edge's"
                f" per-address limit)  socket errors {figures['socket_errors']}"
            )
        ratio = answered(proxy) / answered(static)
        verdicts.append(
            f"  target {'1' if label == 'trip JSON' else '2'}: {label} ratio {ratio:.2f}"
            f" (target >= {target}): {'met' if ratio >= target else 'MISSED'}"
        )
    print("\n".join(verdicts))
    polls = live["wrk"]
    per_second = live["origin"] / live["seconds"]
    print(
        f"  live progress   {polls['rps']:.0f} conditional polls/s from 5,000 widget addresses"
        f" (5,000 widgets polling every {5000 / max(polls['rps'], 1):.1f} s), p99"
        f" {polls['p99']:.1f} ms, non-2xx/304 {polls['non_2xx']};"
        f" {live['pledges']} pledges meanwhile"
    )
    print(
        f"  live progress target: {live['origin']} origin requests for the trip in"
        f" {live['seconds']:.1f} s = {per_second:.2f}/s (design: about 1 per cache second):"
        f" {'met' if per_second <= 2 else 'MISSED'}"
    )
    return 0


def answered(figures: dict) -> float:
    """Requests/s answered with the content (wrk's rate less what was refused)."""
    return figures["rps"] * (1 - figures["non_2xx"] / max(figures["total"], 1))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
