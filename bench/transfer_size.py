"""Benchmark 5: what a fan's phone downloads. embed.js gzipped (budget 3 KB), and the widget
trip page's total transfer (HTML + CSS + JS + the trip JSON it polls), cold (empty cache) and
warm (revalidating with the ETags a browser keeps; immutable assets not asked for at all).

    .venv/bin/python bench/transfer_size.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import requests
from common import free_port, machine, production_server, seeding_app, temp_folder, unique_slug

from tests.factories import make_partner, make_trip
from widget_server.extensions import db

GZIP = {"Accept-Encoding": "gzip"}


def wire_size(response: requests.Response) -> int:
    """Bytes on the wire for the body (as sent, compressed or not) plus the headers."""
    headers = sum(len(k) + len(v) + 4 for k, v in response.headers.items()) + 17
    return len(response.wire_body) + headers


def fetch(http: requests.Session, url: str, headers=None) -> requests.Response:
    response = http.get(url, headers={**GZIP, **(headers or {})}, stream=True, timeout=10)
    response.wire_body = response.raw.read(decode_content=False)
    return response


def main() -> int:
    with temp_folder() as name:
        folder = Path(name)
        with seeding_app(folder) as app, app.app_context(), db.transaction() as session:
            partner = make_partner(session, unique_slug())
            trip = make_trip(session, partner, capacity=50, min_riders=40, stops=3)
            slug, trip_id = partner.slug, trip.id
        port = free_port()
        with production_server(folder, port), requests.Session() as http:
            base = f"http://127.0.0.1:{port}"
            loader = fetch(http, f"{base}/embed.js")
            page_url = f"{base}/w/{slug}/trips/{trip_id}"
            page = fetch(http, page_url)
            html = requests.get(page_url, timeout=10).text
            assets = sorted(set(re.findall(r'(?:src|href)="(/w/static/[^"]+)"', html)))
            cold = {"embed.js": wire_size(loader), "trip page": wire_size(page)}
            kept = {}
            for path in assets:
                response = fetch(http, base + path)
                cold[path.rsplit("/", 1)[-1]] = wire_size(response)
                kept[path] = response.headers.get("Cache-Control", "")
            poll = fetch(http, f"{base}/w/{slug}/api/trips/{trip_id}")
            cold["trip JSON"] = wire_size(poll)
            warm = {
                "embed.js": wire_size(
                    fetch(http, f"{base}/embed.js", {"If-None-Match": loader.headers["ETag"]})
                ),
                # The page itself is per visit (CSP nonce, form token): fetched again.
                "trip page": wire_size(fetch(http, page_url)),
                "trip JSON": wire_size(
                    fetch(
                        http,
                        f"{base}/w/{slug}/api/trips/{trip_id}",
                        {"If-None-Match": poll.headers["ETag"]},
                    )
                ),
            }
            for path, cache_control in kept.items():
                if "immutable" not in cache_control:
                    warm[path.rsplit("/", 1)[-1]] = cold[path.rsplit("/", 1)[-1]]
    print("benchmark 5: transfer sizes (bytes on the wire, gzip, headers included)")
    print(f"  machine         {machine()}")
    loader_body = len(loader.wire_body)
    print(
        f"  embed.js        {loader_body} B gzipped body (budget 3072 B):"
        f" {'within' if loader_body <= 3072 else 'OVER'}"
    )
    print(
        f"  cold visit      {sum(cold.values())} B: "
        + ", ".join(f"{k} {v}" for k, v in cold.items())
    )
    print(
        f"  warm visit      {sum(warm.values())} B: "
        + ", ".join(f"{k} {v}" for k, v in warm.items())
    )
    return 0 if loader_body <= 3072 else 1


if __name__ == "__main__":
    sys.exit(main())
