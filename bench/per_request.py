"""Target 3: what one request costs the app itself. CPU time of the `ridepledge serve`
processes (gunicorn master and its one worker, one thread) per request, read from /proc around
a wrk run straight at the app host (no proxy), in the production topology
(tests/topology/harness.py: PostgreSQL and Redis on their own host, reached over the veth),
`TRUSTED_PROXIES=1`, 300 forwarded addresses, rate limits on; against a bare Flask hello world
(bench/hello_app.py) under the same gunicorn settings in the same run. Targets: trip JSON at
most 2x the hello world, the widget trip page at most 3x, a pledge at most 6x.

    sudo .venv/bin/python bench/per_request.py [--seconds 8]
    .venv/bin/python bench/per_request.py --profile trip-json|trip-page|pledge  # pyinstrument

`--profile` profiles in-process instead (Flask's test client, no server; BENCH_DATABASE_URL /
BENCH_REDIS_URL as the other loopback benchmarks) and also prints SQL statements and Redis
commands per request.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from common import REPO, machine, redis_url, seeding_app, temp_folder, unique_slug, wrk
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


def profile(kind: str, requests: int) -> int:
    """In-process: pyinstrument's profile of `requests` requests of one kind."""
    from hello_app import app as hello
    from pyinstrument import Profiler

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
            client, send, expect = cases[kind]
            profiler = Profiler(interval=0.0002)
            profiler.start()
            result = measure(kind, client, requests, send, counts, expect)
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
    print(
        f"{kind}: cpu {result['cpu_ms']:.2f} ms, sql {result['sql']:.1f},"
        f" redis {result['redis']:.1f} per request ({machine()})"
    )
    return 0 if result["ok"] else 1


def serve_hello(host: str, port: int) -> None:
    """Child process: the hello world under `ridepledge serve`'s gunicorn options."""
    from gunicorn.app.base import BaseApplication

    from widget_server.config import Settings
    from widget_server.wsgi_server import gunicorn_options

    options = gunicorn_options(Settings.from_env(), host, port)

    class Hello(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from hello_app import app

            return app

    Hello().run()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (gunicorn's master and workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    for one in pids:
        fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def measure_server(pid: int, url: str, seconds: int, lua: Path, env: dict | None = None) -> dict:
    """wrk at one server; its CPU per answered request (ms)."""
    wrk(url, seconds=1, connections=4, lua=lua, env=env)  # warm up
    before = cpu_seconds(pid)
    figures = wrk(url, seconds=seconds, connections=4, lua=lua, env=env)
    figures["cpu_ms"] = (cpu_seconds(pid) - before) * 1000 / max(figures["total"], 1)
    return figures


def topology_run(seconds: int) -> int:
    from tests.topology.harness import APP_PORT, Topology, available

    why = available()
    if why:
        print(f"target 3: not run ({why})")
        return 1
    rotate = REPO / "bench" / "rotate_addresses.lua"
    port = APP_PORT + 1
    one_by_one = {"WEB_CONCURRENCY": 1, "WEB_THREADS": 1, "PAYMENTS_PROVIDER": "simulated"}
    results = {}
    with Topology(web_threads=4, worker_threads=2) as topo:
        with topo.app() as app, app.app_context(), db.transaction() as session:
            partner = make_partner(session, unique_slug("cpu"))
            trip = make_trip(session, partner, capacity=100_000, min_riders=100_000, stops=3)
            slug, trip_id, stop_id = partner.slug, trip.id, trip.stops[0].id
        hello_host, app_host = topo.address("app2"), topo.address("app1")
        hello = topo.start(
            "app2",
            [sys.executable, __file__, "--serve-hello", hello_host, str(port)],
            topo.env("app2", **one_by_one, PYTHONPATH=f"{REPO}:{REPO / 'bench'}"),
        )
        served = topo.start(
            "app1",
            topo.ridepledge("serve", "--host", app_host, "--port", str(port)),
            topo.env("app1", **one_by_one),
        )
        for host, child in (("app2", hello), ("app1", served)):
            url = f"http://{topo.address(host)}:{port}/livez" if child is served else None
            topo.wait_for(
                f"{host}:{port}",
                lambda u=url or f"http://{hello_host}:{port}/": requests_get_ok(u),
                host,
            )
        base = f"http://{app_host}:{port}/w/{slug}"
        pledge_env = {"BENCH_STOP_ID": stop_id, "BENCH_RUN": unique_slug("run")}
        results["hello world"] = measure_server(
            hello.pid, f"http://{hello_host}:{port}/", seconds, rotate
        )
        results["trip JSON"] = measure_server(
            served.pid, f"{base}/api/trips/{trip_id}", seconds, rotate
        )
        results["trip page"] = measure_server(
            served.pid, f"{base}/trips/{trip_id}", seconds, rotate
        )
        results["pledge"] = measure_server(
            served.pid,
            f"{base}/api/trips/{trip_id}/pledges",
            seconds,
            REPO / "bench" / "pledge.lua",
            pledge_env,
        )
    hello_ms = results["hello world"]["cpu_ms"]
    print("target 3: CPU of the `ridepledge serve` processes per request, one worker, one thread")
    print(f"  machine         {machine()}")
    print(
        f"  load            wrk -t1 -c4 -d{seconds}s straight at the app host, 300 (pledges: 1,000)"
        " fan addresses; PostgreSQL and Redis on the db host; simulated payments"
    )
    ok = True
    for label, figures in results.items():
        print(
            f"  {label:<12} cpu {figures['cpu_ms']:6.2f} ms/request"
            f"  ({figures['cpu_ms'] / hello_ms:4.1f}x hello)  {figures['rps']:7.0f} req/s"
            f"  p99 {figures['p99']:6.1f} ms  non-2xx {figures['non_2xx']}"
        )
        ok = ok and figures["non_2xx"] == 0
    for label, bound in (("trip JSON", 2), ("trip page", 3), ("pledge", 6)):
        ratio = results[label]["cpu_ms"] / hello_ms
        print(
            f"  target 3: {label} {ratio:.1f}x hello world (target <= {bound}x):"
            f" {'met' if ratio <= bound else 'MISSED'}"
        )
    return 0 if ok else 1


def requests_get_ok(url: str) -> bool:
    import requests

    return requests.get(url, timeout=2).status_code == 200


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--profile", choices=["hello", "trip-json", "trip-page", "pledge"])
    parser.add_argument("--requests", type=int, default=500, help="with --profile")
    parser.add_argument("--serve-hello", nargs=2, metavar=("HOST", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    if args.serve_hello:
        serve_hello(args.serve_hello[0], int(args.serve_hello[1]))
        return 0
    if args.profile:
        return profile(args.profile, args.requests)
    return topology_run(args.seconds)


if __name__ == "__main__":
    sys.exit(main())
