"""Shared pieces of the benchmarks: servers as production runs them, a database to seed, wrk.

Everything is on loopback and bounded in time. Environment:
- BENCH_DATABASE_URL: PostgreSQL (or SQLite) the benchmarks migrate and seed (random slugs;
  nothing is dropped). Default: SQLite in a temporary folder.
- BENCH_REDIS_URL: Redis for the queue and rate limits, as in production (optional).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from tests.conftest import make_settings  # noqa: E402
from widget_server import create_app  # noqa: E402
from widget_server.db import make_engine  # noqa: E402
from widget_server.ids import new_id  # noqa: E402
from widget_server.migrate import upgrade  # noqa: E402

WRK = "/usr/bin/wrk"

# A benchmark stopped with SIGTERM (timeout, Ctrl-C in make) still stops its servers: the
# context managers' `finally` only runs if the signal becomes an exception.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
XFF_SCRIPT = REPO / "bench" / "rotate_addresses.lua"


def machine() -> str:
    """One line about where the figures come from."""
    cpus = os.cpu_count()
    load = os.getloadavg()
    return f"{cpus} CPU cores (shared with other jobs), load {load[0]:.1f}/{load[1]:.1f}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(folder: Path) -> str:
    return os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder / 'bench.db'}"


def redis_url() -> str | None:
    return os.environ.get("BENCH_REDIS_URL") or None


def unique_slug(prefix: str = "bench") -> str:
    return f"{prefix}-{new_id('x')[2:12].lower()}"


@contextmanager
def seeding_app(folder: Path, **env):
    """An app in this process for seeding and checking (migrates the database first)."""
    url = database_url(folder)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = make_settings(url, folder / "instance", SECRET_KEY="bench-secret", **env)
    app = create_app(settings)
    try:
        yield app
    finally:
        app.extensions["ridepledge.engine"].dispose()


def server_env(folder: Path, **extra) -> dict:
    env = {
        **os.environ,
        "INSTANCE_PATH": str(folder / "instance"),
        "DATABASE_URL": database_url(folder),
        "SECRET_KEY": "bench-secret",
        "PYTHONPATH": str(REPO),
        "LOG_LEVEL": "WARNING",  # per-request lines cost the same on both sides of a ratio
        "TRUSTED_PROXIES": "1",  # wrk plays the load balancer: X-Forwarded-For per fan
        "WEBHOOKS_ALLOW_LOOPBACK": "1",
        "METRICS_TOKEN": "bench-metrics-token",  # `ridepledge serve` refuses to start without
    }
    if redis_url():
        env["REDIS_URL"] = redis_url()
    env.update({key: str(value) for key, value in extra.items()})
    return env


@contextmanager
def process(command: list[str], env: dict, log_path: Path, ready_url: str | None = None):
    """A child process (stopped with SIGTERM at the end), optionally waited for at a URL."""
    with log_path.open("ab") as log:
        child = subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        if ready_url:
            wait_until_up(ready_url, child, log_path)
        yield child
    finally:
        if child.poll() is None:
            child.terminate()
        try:
            child.wait(timeout=40)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def ridepledge(*args: str) -> list[str]:
    return [sys.executable, "-m", "widget_server.cli", *args]


@contextmanager
def production_server(folder: Path, port: int, **env):
    """`ridepledge serve` (gunicorn) on 127.0.0.1:port, ready when /readyz says so."""
    with process(
        ridepledge("serve", "--host", "127.0.0.1", "--port", str(port)),
        server_env(folder, **env),
        folder / f"serve-{port}.log",
        f"http://127.0.0.1:{port}/readyz",
    ) as child:
        yield child


def wait_until_up(url: str, child: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"{url}: the server exited; see {log_path.read_text()[-2000:]}")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def wrk(
    url: str,
    *,
    seconds: int = 10,
    connections: int = 32,
    threads: int = 1,
    lua=XFF_SCRIPT,
    env: dict | None = None,
):
    """Run wrk against `url` (`env`: variables for its Lua script); returns requests/s, p50/p99
    in ms, non-2xx/3xx count, total."""
    command = [WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if lua:
        command += ["-s", str(lua)]
    output = subprocess.run(
        [*command, url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
        env={**os.environ, **(env or {})},
    ).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> dict:
    def ms(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\b", output, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": rps,
        "p50": ms("50"),
        "p99": ms("99"),
        "total": total,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
    }


def temp_folder():
    return tempfile.TemporaryDirectory(prefix="ridepledge-bench-")
