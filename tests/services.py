"""Outside services the suite may use, and the rule for when they are missing.

`make test` on a laptop skips what it cannot reach; CI sets RIDEPLEDGE_REQUIRE_<NAME>=1 so that
the same skip becomes a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

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


def chromium_available() -> bool:
    return CHROMIUM.exists() or bool(shutil.which("chromium"))


NGINX = Path("/usr/sbin/nginx")


def nginx_path() -> str | None:
    """nginx (Debian's `nginx-light` or `nginx`), for the edge proxy's tests."""
    return str(NGINX) if NGINX.exists() else shutil.which("nginx")
