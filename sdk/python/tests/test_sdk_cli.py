"""`ridepledge-sdk`, the command line for a partner's operations people."""

from __future__ import annotations

import csv
import io
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from ridepledge.cli import format_money, main
from sdk_helpers import Receiver, fan_pledges, new_event, new_trip

from tests.conftest import run_jobs

SCRIPT = Path(sys.executable).parent / "ridepledge-sdk"


@pytest.fixture
def kind():
    """This module is about the sync client (the CLI uses it; verifying webhooks sends
    nothing); the resources are tested with both clients elsewhere."""
    return "sync"


@pytest.fixture
def argv(live_server, credentials):
    client_id, secret = credentials
    return ["--base-url", live_server.url, "--client-id", client_id, "--client-secret", secret]


@pytest.fixture
def trip(sdk, live_server):
    trip = sdk.trips.open(new_trip(sdk, new_event(sdk), min_riders=5).id)
    fan_pledges(live_server.url, trip, 0, seats=2, name="Ann Fan")
    fan_pledges(live_server.url, trip, 1, seats=1, name="Bob Fan")
    return sdk.trips.retrieve(trip.id)


@pytest.fixture
def receiver():
    made = []

    def make(status):
        made.append(Receiver(status))
        return made[-1]

    yield make
    for one in made:
        one.stop()


def run(capsys, *args) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_trips_list(capsys, argv, trip, sdk):
    draft = new_trip(sdk, new_event(sdk, title="Other"))
    status, out, _ = run(capsys, *argv, "trips", "list")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "TRIP", "STATUS", "EVENT", "ORIGIN", "SEATS", "MIN", "PRICE", "DEADLINE"
    ]  # fmt: skip
    assert [line.split()[0] for line in lines[1:]] == [draft.id, trip.id]
    assert "3/10" in lines[2] and "35.00 USD" in lines[2]

    status, out, _ = run(capsys, *argv, "trips", "list", "--status", "open")
    assert [line.split()[0] for line in out.splitlines()[1:]] == [trip.id]
    status, out, _ = run(capsys, *argv, "trips", "list", "--event", draft.event_id)
    assert [line.split()[0] for line in out.splitlines()[1:]] == [draft.id]
    status, out, _ = run(capsys, *argv, "trips", "list", "--status", "failed")
    assert out.splitlines()[1:] == ["(none)"]


def test_credentials_from_the_environment(capsys, monkeypatch, live_server, credentials, trip):
    monkeypatch.setenv("RIDEPLEDGE_BASE_URL", live_server.url)
    monkeypatch.setenv("RIDEPLEDGE_CLIENT_ID", credentials[0])
    monkeypatch.setenv("RIDEPLEDGE_CLIENT_SECRET", credentials[1])
    status, out, _ = run(capsys, "trips", "list", "--limit", "1")
    assert status == 0 and trip.id in out


def test_manifest_as_a_table_and_as_csv(capsys, argv, trip):
    status, out, _ = run(capsys, *argv, "manifest", trip.id)
    assert status == 0
    lines = out.splitlines()
    assert "Chiefs vs. Raiders" in lines[0] and "3 seats" in lines[0]
    riders = [line for line in lines if "Fan" in line]
    assert riders[0].startswith("Union Station") and "Ann Fan" in riders[0]
    assert riders[1].startswith("Mall") and "Bob Fan" in riders[1]

    status, out, _ = run(capsys, *argv, "manifest", trip.id, "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(row["stop"], row["name"], row["seats"]) for row in rows] == [
        ("Union Station", "Ann Fan", "2"),
        ("Mall", "Bob Fan", "1"),
    ]


def test_errors_and_usage(capsys, argv, monkeypatch):
    status, _, err = run(capsys, *argv, "manifest", "trp_nope")
    assert status == 1 and "404" in err and "request req_" in err

    for name in ("RIDEPLEDGE_BASE_URL", "RIDEPLEDGE_CLIENT_ID", "RIDEPLEDGE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as caught:
        main(["trips", "list"])
    assert caught.value.code == 2
    assert "RIDEPLEDGE_CLIENT_SECRET" in capsys.readouterr().err


def test_deliveries_tail(capsys, argv, app, sdk, live_server, receiver):
    url = receiver(500).url
    endpoint = sdk.webhook_endpoints.create(url=url, events=["*"])
    trip = sdk.trips.open(new_trip(sdk, new_event(sdk)).id)
    fan_pledges(live_server.url, trip)
    run_jobs(app)  # the first message fails; the second waits for it (order is kept)

    status, out, _ = run(capsys, *argv, "deliveries", "tail", "--endpoint", endpoint.id)
    lines = out.splitlines()
    assert status == 0 and len(lines) == 2
    opened, created = (line.split("  ") for line in lines)  # oldest first
    assert opened[2:7] == [endpoint.id, "trip.opened", "pending", "attempts=1", "last=500"]
    assert opened[7].startswith("next=")
    assert created[3:6] == ["pledge.created", "pending", "attempts=0"]

    status, out, _ = run(capsys, *argv, "deliveries", "tail", "-n", "1")
    assert len(out.splitlines()) == 1 and "pledge.created" in out


def test_deliveries_tail_follow(argv, app, sdk, live_server, receiver):
    sdk.webhook_endpoints.create(url=receiver(204).url, events=["*"])
    trip = sdk.trips.open(new_trip(sdk, new_event(sdk)).id)
    run_jobs(app)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(  # noqa: S603 (our own script)
        [str(SCRIPT), *argv, "deliveries", "tail", "--follow", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout])
    reader.start()
    try:
        assert "trip.opened  succeeded  attempts=1  last=204" in lines.get(timeout=15)
        fan_pledges(live_server.url, trip)  # a new delivery appears while we follow
        assert "pledge.created  pending  attempts=0" in lines.get(timeout=15)
        run_jobs(app)  # ... and one that changed is printed again
        assert "pledge.created  succeeded  attempts=1" in lines.get(timeout=15)
    finally:
        process.terminate()
        process.wait(timeout=10)
        reader.join(timeout=10)
        process.stdout.close()
        process.stderr.close()


def test_money_is_shown_in_major_units():
    assert format_money(3500, "USD") == "35.00 USD"
    assert format_money(5, "EUR") == "0.05 EUR"
    assert format_money(-1250, "GBP") == "-12.50 GBP"
    assert format_money(3500, "JPY") == "3500 JPY"
