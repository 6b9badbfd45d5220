"""Outside services the suite may use, and the rule for when they are missing.

`make test` on a laptop skips what it cannot reach; CI sets RIDEPLEDGE_REQUIRE_<NAME>=1 so that
the same skip becomes a failure.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

CHROMIUM = Path("/usr/bin/chromium")


def require(name: str, available: bool, why: str) -> None:
    """Skip (or fail, when RIDEPLEDGE_REQUIRE_<NAME> is set) unless `available`."""
    if available:
        return
    message = f"needs {name}: {why}"
    if os.environ.get(f"RIDEPLEDGE_REQUIRE_{name.upper()}") == "1":
        pytest.fail(message + f" (RIDEPLEDGE_REQUIRE_{name.upper()}=1)")
    pytest.skip(message)


def postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    return url if url and url.startswith("postgresql") else None


def redis_url() -> str | None:
    return os.environ.get("TEST_REDIS_URL") or None


def give_worker_its_own_services(worker: str) -> None:
    """`make test` runs the suite in several processes (pytest-xdist workers `gw0`, `gw1`...).
    Each worker gets its own PostgreSQL database (`<name>_gw0`, made when missing) and its own
    Redis database (the configured number minus the worker's index), so no worker empties the
    other's tables or keys. The variables are rewritten in `os.environ`, where the servers and
    workers the tests start as subprocesses read them too."""
    index = int(worker.removeprefix("gw"))
    url = postgres_url()
    if url:
        own = make_url(url).set(database=f"{make_url(url).database}_{worker}")
        _create_database(url, own.database)
        os.environ["TEST_DATABASE_URL"] = own.render_as_string(hide_password=False)
    redis = redis_url()
    if redis:
        parts = urlsplit(redis)
        number = (int(parts.path.strip("/") or 0) - index) % 16
        os.environ["TEST_REDIS_URL"] = parts._replace(path=f"/{number}").geturl()


def _create_database(url: str, name: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        for attempt in range(5):  # two workers copying template1 at once may collide
            try:
                with engine.connect() as connection:
                    found = connection.execute(
                        text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                    ).scalar()
                    if not found:
                        connection.execute(text(f'CREATE DATABASE "{name}"'))
                return
            except OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.5)
    finally:
        engine.dispose()


def chromium_available() -> bool:
    return CHROMIUM.exists() or bool(shutil.which("chromium"))


NGINX = Path("/usr/sbin/nginx")


def nginx_path() -> str | None:
    """nginx (Debian's `nginx-light` or `nginx`), for the edge proxy's tests."""
    return str(NGINX) if NGINX.exists() else shutil.which("nginx")
