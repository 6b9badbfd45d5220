"""Benchmark 1: public trip JSON and the widget trip page, against a bare Flask "hello world"
served by the same gunicorn settings (`ridepledge serve`: WEB_CONCURRENCY workers x WEB_THREADS
gthread threads), measured with wrk from 300 forwarded fan addresses (rate limits on).

    .venv/bin/python bench/read_throughput.py [--seconds 10] [--connections 32]

Prints requests/s and p50/p99 for each, and each as a ratio to hello world (target >= 0.6
for the trip JSON). Uses BENCH_DATABASE_URL (PostgreSQL in the recorded runs).
"""

from __future__ import annotations

import argparse
import sys

from common import (
    free_port,
    machine,
    process,
    production_server,
    seeding_app,
    server_env,
    temp_folder,
    unique_slug,
    wrk,
)

from tests.factories import make_partner, make_trip
from widget_server.extensions import db


def serve_hello(port: int) -> None:
    """Child process: the hello-world app under `ridepledge serve`'s gunicorn options."""
    from gunicorn.app.base import BaseApplication

    from widget_server.config import Settings
    from widget_server.wsgi_server import gunicorn_options

    options = gunicorn_options(Settings.from_env(), "127.0.0.1", port)

    class Hello(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from hello_app import app

            return app

    Hello().run()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--serve-hello", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_hello:
        serve_hello(args.serve_hello)
        return 0
    results = {}
    with temp_folder() as name:
        from pathlib import Path

        folder = Path(name)
        with seeding_app(folder) as app, app.app_context(), db.transaction() as session:
            partner = make_partner(session, unique_slug())
            trip = make_trip(session, partner, capacity=50, min_riders=40, stops=3)
            slug, trip_id = partner.slug, trip.id
        hello_port = free_port()
        with process(
            [sys.executable, __file__, "--serve-hello", str(hello_port)],
            server_env(folder),
            folder / "hello.log",
            f"http://127.0.0.1:{hello_port}/",
        ):
            wrk(f"http://127.0.0.1:{hello_port}/", seconds=2, connections=args.connections)
            results["hello world"] = wrk(
                f"http://127.0.0.1:{hello_port}/",
                seconds=args.seconds,
                connections=args.connections,
            )
        port = free_port()
        with production_server(folder, port):
            base = f"http://127.0.0.1:{port}/w/{slug}"
            for label, url in (
                ("trip JSON", f"{base}/api/trips/{trip_id}"),
                ("widget trip page", f"{base}/trips/{trip_id}"),
            ):
                wrk(url, seconds=2, connections=args.connections)  # warm up
                results[label] = wrk(url, seconds=args.seconds, connections=args.connections)
    hello = results["hello world"]
    print("benchmark 1: reads against a bare Flask hello world, same gunicorn settings")
    print(f"  machine         {machine()}")
    print(f"  load            wrk -t1 -c{args.connections} -d{args.seconds}s, 300 fan addresses")
    ok = True
    for label, figures in results.items():
        ratio = figures["rps"] / hello["rps"]
        print(
            f"  {label:<16} {figures['rps']:8.1f} req/s  p50 {figures['p50']:7.2f} ms"
            f"  p99 {figures['p99']:7.2f} ms  ratio {ratio:4.2f}"
            f"  non-2xx {figures['non_2xx']}  socket errors {figures['socket_errors']}"
        )
        ok = ok and figures["non_2xx"] == 0
    trip_ratio = results["trip JSON"]["rps"] / hello["rps"]
    print(
        f"  trip JSON ratio {trip_ratio:.2f} (target >= 0.6):",
        "met" if trip_ratio >= 0.6 else "MISSED",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
