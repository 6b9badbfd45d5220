"""`ridepledge-sdk`: the partner API from a terminal, for a partner's operations people.

    ridepledge-sdk trips list [--event EVT] [--status open]
    ridepledge-sdk manifest TRIP_ID [--csv]
    ridepledge-sdk deliveries tail [--endpoint WE] [--follow]

Credentials come from --base-url/--client-id/--client-secret or from the environment
variables RIDEPLEDGE_BASE_URL, RIDEPLEDGE_CLIENT_ID and RIDEPLEDGE_CLIENT_SECRET.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TextIO

from ridepledge._client import Client
from ridepledge.errors import RidePledgeError
from ridepledge.models import TRIP_STATUSES, WebhookDelivery
from ridepledge.version import __version__

# ISO 4217 currencies without minor units; every other currency is shown with two decimals.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "MGA"}
    | {"PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 API error, 2 usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
    missing = [
        flag
        for flag, value in (
            ("--base-url / RIDEPLEDGE_BASE_URL", args.base_url),
            ("--client-id / RIDEPLEDGE_CLIENT_ID", args.client_id),
            ("--client-secret / RIDEPLEDGE_CLIENT_SECRET", args.client_secret),
        )
        if not value
    ]
    if missing:
        parser.error("missing " + ", ".join(missing))
    try:
        with Client(
            args.client_id, args.client_secret, args.base_url, timeout=args.timeout
        ) as client:
            status: int = args.run(client, args, sys.stdout)
            return status
    except RidePledgeError as exc:
        print(f"ridepledge-sdk: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        return 0


def _parser() -> argparse.ArgumentParser:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="ridepledge-sdk",
        description="Look at your RidePledge trips, manifests and webhook deliveries.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--base-url", default=env.get("RIDEPLEDGE_BASE_URL"))
    parser.add_argument("--client-id", default=env.get("RIDEPLEDGE_CLIENT_ID"))
    parser.add_argument("--client-secret", default=env.get("RIDEPLEDGE_CLIENT_SECRET"))
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    trips = commands.add_parser("trips", help="trips").add_subparsers(
        dest="trips_command", required=True, metavar="COMMAND"
    )
    trips_list = trips.add_parser("list", help="list trips, newest first")
    trips_list.add_argument("--event", metavar="EVENT_ID", help="only this event's trips")
    trips_list.add_argument("--status", choices=TRIP_STATUSES)
    trips_list.add_argument("--limit", type=int, default=50, help="at most this many (50)")
    trips_list.set_defaults(run=_trips_list)

    manifest = commands.add_parser("manifest", help="who boards where on a trip")
    manifest.add_argument("trip_id", metavar="TRIP_ID")
    manifest.add_argument("--csv", action="store_true", help="CSV instead of a table")
    manifest.set_defaults(run=_manifest)

    deliveries = commands.add_parser("deliveries", help="webhook deliveries").add_subparsers(
        dest="deliveries_command", required=True, metavar="COMMAND"
    )
    tail = deliveries.add_parser("tail", help="the latest deliveries, oldest first")
    tail.add_argument("--endpoint", metavar="ENDPOINT_ID", help="only this endpoint's")
    tail.add_argument("-n", "--lines", type=int, default=10, help="how many to show first (10)")
    tail.add_argument(
        "--follow", "-f", action="store_true", help="keep polling; print new and changed ones"
    )
    tail.add_argument("--interval", type=float, default=5.0, help="seconds between polls (5)")
    tail.set_defaults(run=_deliveries_tail)
    return parser


def _trips_list(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    trips = client.trips.list(event_id=args.event, status=args.status, limit=min(args.limit, 100))
    rows = [
        [
            trip.id,
            trip.status,
            trip.event_id,
            trip.origin.name,
            f"{trip.seats_pledged}/{trip.capacity}",
            str(trip.min_riders),
            format_money(trip.unit_amount, trip.currency),
            format_time(trip.pledge_deadline),
        ]
        for trip in itertools.islice(trips, max(args.limit, 0))
    ]
    header = ["TRIP", "STATUS", "EVENT", "ORIGIN", "SEATS", "MIN", "PRICE", "DEADLINE"]
    _table(out, header, rows)
    return 0


def _manifest(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    if args.csv:
        out.write(client.trips.manifest_csv(args.trip_id))
        return 0
    manifest = client.trips.manifest(args.trip_id)
    print(
        f"{manifest.event.title} at {manifest.event.venue}: trip {manifest.trip_id} "
        f"({manifest.trip_status}), {manifest.seats} seats",
        file=out,
    )
    if manifest.operator.name or manifest.operator.phone:
        print(f"operator: {manifest.operator.name or ''} {manifest.operator.phone or ''}", file=out)
    rows = [
        [
            row.stop,
            format_time(row.departs_at),
            row.name,
            row.phone or "",
            row.email,
            str(row.seats),
            row.status,
        ]
        for row in manifest.rows()
    ]
    _table(out, ["STOP", "DEPARTS", "NAME", "PHONE", "EMAIL", "SEATS", "STATUS"], rows)
    return 0


def _deliveries_tail(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    def latest(count: int) -> list[WebhookDelivery]:
        page = client.webhook_deliveries.list(endpoint_id=args.endpoint, limit=count)
        return list(reversed(page.first_page().data))  # oldest first, like `tail`

    seen: dict[str, tuple[str, int]] = {}
    first = latest(min(max(args.lines, 1), 100))
    for delivery in first[-args.lines :] if args.lines > 0 else []:
        print(format_delivery(delivery), file=out, flush=True)
    seen.update({d.id: (d.status, d.attempt_count) for d in first})
    while args.follow:
        time.sleep(args.interval)
        for delivery in latest(100):
            state = (delivery.status, delivery.attempt_count)
            if seen.get(delivery.id) != state:
                seen[delivery.id] = state
                print(format_delivery(delivery), file=out, flush=True)
    return 0


def format_delivery(delivery: WebhookDelivery) -> str:
    """One line per delivery: when, ids, type, status, attempts, last answer."""
    last = delivery.attempts[-1] if delivery.attempts else None
    answer = ""
    if last is not None:
        answer = str(last.status_code) if last.status_code is not None else (last.error or "")
    parts = [
        format_time(delivery.created_at),
        delivery.id,
        delivery.endpoint_id,
        delivery.event_type,
        delivery.status,
        f"attempts={delivery.attempt_count}",
    ]
    if answer:
        parts.append(f"last={answer}")
    if delivery.status == "pending" and delivery.next_attempt_at is not None:
        parts.append(f"next={format_time(delivery.next_attempt_at)}")
    return "  ".join(parts)


def format_money(minor_units: int, currency: str) -> str:
    """3500, "USD" -> "35.00 USD" (minor units shown as the currency writes them)."""
    if currency.upper() in ZERO_DECIMAL_CURRENCIES:
        return f"{minor_units} {currency}"
    sign = "-" if minor_units < 0 else ""
    whole, cents = divmod(abs(minor_units), 100)
    return f"{sign}{whole}.{cents:02d} {currency}"


def format_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%MZ") if moment is not None else ""


def _table(out: TextIO, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in [header, *rows]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(),
            file=out,
        )
    if not rows:
        print("(none)", file=out)


if __name__ == "__main__":
    sys.exit(main())
