"""The README's examples as written: they pass `mypy --strict` (with the package itself), and
the complete example runs against the real server with the sync client and again with the
async one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
README = REPO_ROOT / "sdk/python/README.md"
SDK_SOURCE = REPO_ROOT / "sdk/python/src"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def example(client_class: str) -> str:
    """The README's complete example for one client (the block that makes it and runs)."""
    (block,) = [
        block
        for block in python_blocks()
        if f"ridepledge.{client_class}(" in block and "events.create(" in block
    ]
    return block


@pytest.fixture
def kind():
    return "sync"  # the examples run in their own processes; `sdk` only checks the results


def test_the_package_and_the_readme_examples_pass_mypy_strict(tmp_path, request):
    files = []
    for number, block in enumerate(python_blocks()):
        path = tmp_path / f"readme_example_{number}.py"
        path.write_text(block)
        files.append(str(path))
    assert len(files) >= 4
    cache = request.config.cache.mkdir("sdk-mypy")
    result = subprocess.run(  # noqa: S603 (our own interpreter)
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache)]
        + [str(SDK_SOURCE), *files],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("client_class", ["Client", "AsyncClient"])
def test_the_complete_example_runs_as_written(client_class, live_server, credentials, sdk):
    receiver_url = "http://127.0.0.1:9/ridepledge"  # nothing is delivered (no job runs)
    env = {
        **os.environ,
        "RIDEPLEDGE_BASE_URL": live_server.url,
        "RIDEPLEDGE_CLIENT_ID": credentials[0],
        "RIDEPLEDGE_CLIENT_SECRET": credentials[1],
        "RIDEPLEDGE_WEBHOOK_URL": receiver_url,
    }
    script = example(client_class)

    first = subprocess.run(  # noqa: S603 (our own interpreter, the README's code)
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert first.returncode == 0, first.stderr

    (event,) = list(sdk.events.list())
    assert event.title == "Chiefs vs. Raiders"
    trips = list(sdk.trips.list(event_id=event.id))
    assert trips and {trip.status for trip in trips} == {"open"}
    assert all(f"{trip.id}" in first.stdout for trip in trips)

    # Run again: its own idempotency keys replay every create, so nothing is made twice.
    again = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert again.returncode == 0, again.stderr
    assert [e.id for e in sdk.events.list()] == [event.id]
    assert {t.id for t in sdk.trips.list()} == {t.id for t in trips}
