"""SDK tests run against the real server: the repository's fixtures build a migrated database
and an app, `live_server` serves it on a free port, and the SDK talks to it over HTTP.

These tests may import `widget_server` and the repository's `tests` package; the SDK itself
never does.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

# The repository root, so that `tests` (the server's test package) imports when pytest is
# pointed at this folder alone.
REPO_ROOT = Path(__file__).resolve().parents[3]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import ridepledge  # noqa: E402
from async_bridge import Bridge  # noqa: E402
from sdk_helpers import FlakyProxy, new_credentials  # noqa: E402

from tests.conftest import app, database_url, live_server, migrated_engine, settings  # noqa: E402,F401
from tests.factories import make_partner  # noqa: E402
from widget_server.extensions import db  # noqa: E402

FAST = {"backoff_initial": 0.01, "backoff_max": 0.05, "timeout": 10.0}


@pytest.fixture
def partner_id(app):  # noqa: F811 (pytest fixture injection)
    with app.app_context(), db.transaction() as session:
        return make_partner(session, "kc-chiefs").id


@pytest.fixture
def credentials(app, partner_id):  # noqa: F811
    """A new API client of the partner with every scope: (client_id, client_secret)."""
    return new_credentials(app, partner_id)


@pytest.fixture(params=["sync", "async"])
def kind(request):
    """Which client the test drives: `ridepledge.Client`, or `ridepledge.AsyncClient` through
    `async_bridge.Bridge` (the same test code). A module or test that is about one client only
    overrides it (a `kind` fixture of its own, or `@pytest.mark.parametrize("kind", ...)`)."""
    return request.param


@pytest.fixture
def event_loop_for_sdk():
    """The event loop async clients of one test run on (closed after the test)."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


@pytest.fixture
def make_sdk(live_server, credentials, kind, event_loop_for_sdk):  # noqa: F811
    """Build SDK clients of the test's `kind` (closed after the test); by default against the
    live server with the partner's credentials and fast backoff."""
    made: list = []

    def make(base_url: str | None = None, creds: tuple[str, str] | None = None, **options):
        client_id, secret = creds or credentials
        url = base_url or live_server.url
        if kind == "sync":
            client = ridepledge.Client(client_id, secret, url, **{**FAST, **options})
        else:
            async_client = ridepledge.AsyncClient(client_id, secret, url, **{**FAST, **options})
            client = Bridge(async_client, event_loop_for_sdk)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def sdk(make_sdk):
    """An SDK client talking straight to the live server."""
    return make_sdk()


@pytest.fixture
def proxy(live_server):  # noqa: F811
    """A proxy in front of the live server that misbehaves as each test scripts it."""
    flaky = FlakyProxy(live_server.url)
    yield flaky
    flaky.stop()
