"""Game day as production runs it (short): the proxy, two app hosts, a worker host, PostgreSQL
and Redis as network namespaces (tests/topology/harness.py). Fans' widgets pledge through the
proxy, retrying with their Idempotency-Key; one app host is killed mid-spike. Afterwards every
pledge a fan was told about exists once, nobody has two, seats are exact and nobody is charged
twice at the (fake) Stripe. The full-size run is bench/game_day.py."""

from __future__ import annotations

import pytest

from tests.services import postgres_url, require
from tests.topology import game_day
from tests.topology.harness import Topology, available

FANS, TRIPS, SECONDS, CLIENTS = 120, 4, 6, 16


@pytest.fixture(scope="module")
def topology():
    if postgres_url():
        # The topology runs its own PostgreSQL host whatever the suite's database is, so the
        # PostgreSQL pass of .ci/run would only repeat the SQLite pass's run (1.5-2 min).
        pytest.skip("runs in the SQLite pass: the topology brings its own PostgreSQL")
    why = available()
    require("netns", why is None, why or "")
    with Topology(web_threads=8, worker_threads=4, durable=False) as topo:
        yield topo


def test_an_app_host_killed_mid_spike_loses_nothing_and_charges_nobody_twice(topology):
    slug, trips, capacity = game_day.seed(topology, FANS, TRIPS)

    spike = game_day.run(
        topology, slug, trips, fans=FANS, seconds=SECONDS, clients=CLIENTS, max_seconds=30,
        patience=12, kill="app1", kill_after=0.4,
    )  # fmt: skip
    waited = game_day.settle(topology, timeout=30, sweep=True)
    verdict = game_day.check(topology, spike, trips)

    report = "\n".join(verdict.lines + [f"answers {dict(spike.answers)}", f"waited {waited:.1f}"])
    assert spike.not_sent == 0, report
    assert verdict.problems == [], report
    # The surviving host took the reads at once, and the proxy answered nothing else but it.
    assert spike.failover is not None and spike.failover < 1.0, report
    assert spike.failed_reads == 0, report
    # No read failed: the proxy moved what the dead host refused to the other one. Only the
    # pledges the dead host was running (at most one per load-generator thread) could fail, and
    # only those may still be "in progress" (their key is held until the claim is abandoned).
    assert not [a for a in spike.answers if a[0] == "view" and a[1] != 200], report
    failed = sum(n for (kind, status), n in spike.answers.items() if str(status)[0] not in "24")
    assert failed <= CLIENTS, report
    created = [fan for fan in spike.fans if fan.status == 201]
    assert created and sum(fan.seats for fan in created) <= capacity * TRIPS, report
    # Sold-out trips say so (409); a fan without a definite answer has at most one pledge.
    assert {fan.status for fan in spike.fans} <= {0, 201, 409}, report
    assert sum(1 for fan in spike.fans if fan.status == 0) <= CLIENTS, report
