"""Targets 4 and 5: game day through the production topology (tests/topology/harness.py: nginx
from `ridepledge proxy-config`, two app hosts, a worker host, PostgreSQL and Redis on the db
host, the fake Stripe reached over the veth). The same fans as the short test
(tests/topology/test_game_day.py, tests/topology/game_day.py), full size:

4. 5,000 fans over 20 trips in 60 s from 400 addresses: every fan answered within the minute,
   no 5xx, pledge p99 under 1 s, every trip's seats exact, every pledge charged once;
5. then another spike on 20 new trips during which one app host is killed (SIGKILL of every
   process on it): 0 pledges lost, 0 duplicated, 0 charged twice; reads answered by the
   surviving host within a second.

Each fan reads its trip's JSON, then pledges 1 or 2 seats with an Idempotency-Key, retrying
with the same key as the widget does. After each spike the worker's charges are awaited
(bounded; after the kill with a settlement sweep on the worker host for the dead host's lost
jobs), then counted at the fake Stripe.

    sudo .venv/bin/python bench/game_day.py [--fans 5000] [--seconds 60] [--kill-fans 2000]
"""

from __future__ import annotations

import argparse
import sys

from common import machine

from tests.topology import game_day
from tests.topology.harness import Topology, available

TRIPS = 20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def spike(topo: Topology, args, *, fans: int, seconds: float, kill: str | None):
    slug, trips, capacity = game_day.seed(topo, fans, TRIPS)
    result = game_day.run(
        topo,
        slug,
        trips,
        fans=fans,
        seconds=seconds,
        clients=args.clients,
        max_seconds=args.max_seconds,
        patience=60,
        kill=kill,
    )
    waited = game_day.settle(topo, timeout=90, sweep=kill is not None)
    return result, game_day.check(topo, result, trips), waited, capacity


def describe(label: str, result, verdict, waited: float, fans: int, seconds: float) -> list[str]:
    answered = [fan for fan in result.fans if fan.status]
    pledge_times = [fan.seconds for fan in answered]
    server_errors = sum(n for (_, status), n in result.answers.items() if str(status)[0] in "5")
    errors = sum(n for (_, status), n in result.answers.items() if isinstance(status, str))
    lines = [
        f"{label}",
        f"  load          {fans} fans over {TRIPS} trips in {seconds:.0f} s from"
        f" {game_day.ADDRESSES} addresses; the spike took {result.wall:.1f} s"
        f" ({len(result.fans) / result.wall:.1f} fans/s answered of {fans / seconds:.1f}"
        f" offered){'; NOT SENT: ' + str(result.not_sent) if result.not_sent else ''}",
        "  answers       "
        + ", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(result.answers.items(), key=str)),
        f"  pledge        p50 {percentile(pledge_times, 0.5):.0f} ms,"
        f" p99 {percentile(pledge_times, 0.99):.0f} ms (first attempt to definite answer);"
        f" 5xx {server_errors}, connection errors {errors}",
        *(f"  {line}" for line in verdict.lines),
        f"  settling      charges awaited {waited:.0f} s after the spike (bound 90 s)",
    ]
    return lines, pledge_times, server_errors, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fans", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--kill-fans", type=int, default=2000)
    parser.add_argument("--kill-seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=128, help="load generator threads")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=150,
        help="bound on each spike: fans not started by then are not sent (and reported)",
    )
    args = parser.parse_args()
    why = available()
    if why:
        print(f"targets 4 and 5: not run ({why})")
        return 1
    with Topology(web_threads=16, worker_threads=8) as topo:
        plain = spike(topo, args, fans=args.fans, seconds=args.seconds, kill=None)
        killed = spike(topo, args, fans=args.kill_fans, seconds=args.kill_seconds, kill="app1")
    print("targets 4 and 5: game day through the topology (proxy, 2 app hosts, worker, db)")
    print(f"  machine       {machine()}")
    result, verdict, waited, _ = plain
    lines, times, server_errors, errors = describe(
        "spike", result, verdict, waited, args.fans, args.seconds
    )
    print("\n".join(lines))
    in_minute = result.not_sent == 0 and result.wall <= args.seconds + 5
    p99 = percentile(times, 0.99)
    unanswered = sum(1 for fan in result.fans if not fan.status)
    four = (
        in_minute
        and unanswered == 0
        and server_errors == 0
        and errors == 0
        and p99 < 1000
        and not verdict.problems
    )
    print(
        f"  target 4: every fan answered within the minute {'yes' if in_minute else 'NO'},"
        f" no 5xx {'yes' if not server_errors else 'NO'}, pledge p99 {p99:.0f} ms < 1 s"
        f" {'yes' if p99 < 1000 else 'NO'}, seats exact and charged once"
        f" {'yes' if not verdict.problems else 'NO: ' + '; '.join(verdict.problems)}:"
        f" {'met' if four else 'MISSED'}"
    )
    result, verdict, waited, _ = killed
    lines, *_ = describe(
        "spike with app1 killed at half", result, verdict, waited, args.kill_fans, args.kill_seconds
    )
    print("\n".join(lines))
    failover = f"{result.failover:.2f} s" if result.failover is not None else "never"
    five = not verdict.problems and result.failover is not None and result.failover < 1
    print(
        f"  target 5: lost/duplicated/charged twice: "
        f"{'none' if not verdict.problems else '; '.join(verdict.problems)};"
        f" reads from the survivor {failover} after the kill ({result.failed_reads} failed"
        f" reads): {'met' if five else 'MISSED'}"
    )
    correct = not plain[1].problems and not killed[1].problems
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main())
