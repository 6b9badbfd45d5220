"""What one request costs the app itself, in-process (no HTTP server, no load generator): CPU
and wall time per request, SQL statements and Redis commands per request, for the public trip
JSON, the widget trip page and pledge creation, beside a bare Flask hello world.

    BENCH_DATABASE_URL=... BENCH_REDIS_URL=... .venv/bin/python bench/per_request.py \\
        [--requests 500] [--profile trip-json]   # --profile needs pyinstrument

Requests go through Flask's test client with `TRUSTED_PROXIES=1` and rate limits on (in Redis
when BENCH_REDIS_URL is set), each from one of 300 forwarded addresses, as in production. This
is the figure to watch when changing the request path: it is not skewed by other load on the
machine as much as requests/s are (CPU time is the process's own).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from common import machine, redis_url, seeding_app, temp_folder, unique_slug
from sqlalchemy import event

from tests.factories import make_partner, make_trip
from widget_server.extensions import db


class Counts:
    """SQL statements and Redis commands issued, counted by hooks on the engine and on redis-py."""

    def __init__(self, engine):
        self.sql = 0
        self.redis = 0
        event.listen(engine, "before_cursor_execute", self._on_sql)
        try:
            import redis.connection

            original = redis.connection.AbstractConnection.send_packed_command
            counts = self

            def counting(connection, command, check_health=True):
                counts.redis += 1
                return original(connection, command, check_health)

            redis.connection.AbstractConnection.send_packed_command = counting
        except ImportError:
            pass

    def _on_sql(self, *_args):
        self.sql += 1


def measure(label: str, client, requests: int, send, counts: Counts, expect: set[int]) -> dict:
    for i in range(20):  # warm up: caches, templates, pools
        send(client, 10_000 + i)
    sql_before, redis_before = counts.sql, counts.redis
    cpu, wall = time.process_time(), time.perf_counter()
    statuses: dict[int, int] = {}
    for i in range(requests):
        status = send(client, i)
        statuses[status] = statuses.get(status, 0) + 1
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    unexpected = {s: n for s, n in statuses.items() if s not in expect}
    return {
        "label": label,
        "cpu_ms": cpu * 1000 / requests,
        "wall_ms": wall * 1000 / requests,
        "sql": (counts.sql - sql_before) / requests,
        "redis": (counts.redis - redis_before) / requests,
        "statuses": statuses,
        "ok": not unexpected,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument(
        "--profile", choices=["hello", "trip-json", "trip-page", "pledge"], default=None
    )
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from hello_app import app as hello

    with temp_folder() as name:
        folder = Path(name)
        env = {"TRUSTED_PROXIES": "1", "PUBLIC_CACHE_MS": "1000", "LOG_LEVEL": "WARNING"}
        if redis_url():
            env["REDIS_URL"] = redis_url()
        with seeding_app(folder, **env) as app:
            from widget_server.observability.logs import configure_logging

            configure_logging("json", "WARNING")
            with app.app_context(), db.transaction() as session:
                partner = make_partner(session, unique_slug())
                trip = make_trip(session, partner, capacity=100_000, min_riders=100_000, stops=3)
                slug, trip_id, stop_id = partner.slug, trip.id, trip.stops[0].id
            counts = Counts(app.extensions["ridepledge.engine"])
            run = unique_slug("run")

            def address(i: int) -> dict:
                return {"X-Forwarded-For": f"198.18.{i % 300 // 250}.{i % 250 + 1}"}

            def get(path):
                return lambda c, i: c.get(path, headers=address(i)).status_code

            def pledge(c, i):
                body = {
                    "stop_id": stop_id,
                    "seats": 1,
                    "name": "Bench Fan",
                    "email": f"fan-{run}-{i}@bench.example",
                    "payment_method": "pm_card_visa",
                }
                return c.post(
                    f"/w/{slug}/api/trips/{trip_id}/pledges", json=body, headers=address(i)
                ).status_code

            cases = {
                "hello": (hello.test_client(), get("/"), {200}),
                "trip-json": (app.test_client(), get(f"/w/{slug}/api/trips/{trip_id}"), {200}),
                "trip-page": (app.test_client(), get(f"/w/{slug}/trips/{trip_id}"), {200}),
                "pledge": (app.test_client(), pledge, {201}),
            }
            if args.profile:
                from pyinstrument import Profiler

                client, send, expect = cases[args.profile]
                profiler = Profiler(interval=0.0002)
                profiler.start()
                measure(args.profile, client, args.requests, send, counts, expect)
                profiler.stop()
                print(profiler.output_text(unicode=True, color=False, show_all=False))
                return 0
            results = [
                measure(label, client, args.requests, send, counts, expect)
                for label, (client, send, expect) in cases.items()
            ]
    url = str(app.config["SETTINGS"].database_url)
    database = "postgresql" if url.startswith("postgresql") else "sqlite"
    print("per request, in-process (Flask test client), rate limits on")
    print(f"  machine         {machine()}")
    print(
        f"  database        {database}; Redis {'yes' if redis_url() else 'no (memory)'};"
        f" {args.requests} requests each"
    )
    for r in results:
        print(
            f"  {r['label']:<10} cpu {r['cpu_ms']:6.2f} ms  wall {r['wall_ms']:6.2f} ms"
            f"  sql {r['sql']:4.1f}  redis {r['redis']:4.1f}  {r['statuses']}"
        )
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
