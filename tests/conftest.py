"""Shared fixtures: a migrated database (SQLite, or PostgreSQL from TEST_DATABASE_URL), an app
per test with its own instance folder, and a real HTTP server on a free port."""

from __future__ import annotations

import os
import threading

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from tests.services import give_worker_its_own_services, postgres_url, require
from widget_server import create_app
from widget_server.config import Settings
from widget_server.db import Base, make_engine
from widget_server.migrate import upgrade
from widget_server.wsgi_server import DevRequestHandler, closing_when_dropped

# Property tests judge what the code answers, never how fast: a loaded machine must not fail
# them through hypothesis's 200 ms deadline or its too-slow data generation check.
settings.register_profile("ridepledge", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ridepledge")


def pytest_configure(config) -> None:
    """Refuse to run against a PostgreSQL database whose name does not say it is for tests (the
    suite drops its schema); under pytest-xdist, give this worker its own databases."""
    url = postgres_url()
    if url is not None and "test" not in (make_url(url).database or ""):
        raise pytest.UsageError(
            f"TEST_DATABASE_URL names the database {make_url(url).database!r}; the suite drops "
            "its schema, so it only runs on a database whose name contains 'test'"
        )
    if hasattr(config, "workerinput"):  # a pytest-xdist worker
        give_worker_its_own_services(config.workerinput["workerid"])


@pytest.fixture(autouse=True)
def _clean_database(request):
    """Every test that uses the database starts from an empty one, whatever an earlier test
    (in any order) left behind. Browser tests share one module-scoped `world` (which empties
    the database when it is built) and are left alone."""
    if "migrated_engine" in request.fixturenames and "world" not in request.fixturenames:
        empty_all_tables(request.getfixturevalue("migrated_engine"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = postgres_url()
    if os.environ.get("RIDEPLEDGE_REQUIRE_POSTGRES") == "1":
        require("postgres", url is not None, "TEST_DATABASE_URL is not a PostgreSQL URL")
    if url:
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def migrated_engine(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def empty_all_tables(engine) -> None:
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (our own names)


def make_settings(database_url: str, instance_path, **env) -> Settings:
    values = {
        "INSTANCE_PATH": str(instance_path),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "WEBHOOKS_ALLOW_LOOPBACK": "1",
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        # Tests read their own writes at once; the per-process cache has its own test.
        "PUBLIC_CACHE_MS": "0",
    }
    values.update(env)
    return Settings.from_env(values)


@pytest.fixture
def settings(database_url, migrated_engine, tmp_path) -> Settings:
    return make_settings(database_url, tmp_path / "instance")


@pytest.fixture
def app(settings, migrated_engine):
    app = create_app(settings, TESTING=True)
    yield app
    app.extensions["ridepledge.engine"].dispose()
    empty_all_tables(migrated_engine)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    """The app's database session inside an app context."""
    from widget_server.extensions import db

    with app.app_context():
        yield db.session


class LiveServer:
    def __init__(self, app):
        self.app = app
        self._server = make_server(
            "127.0.0.1",
            0,
            closing_when_dropped(app),
            threaded=True,
            request_handler=DevRequestHandler,
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on a free loopback port."""
    server = LiveServer(app).start()
    yield server
    server.stop()


def run_jobs(app, limit: int = 100_000) -> list[str]:
    """Run every queued job (and the jobs they queue) now, in this thread; returns their names.

    Tests queue jobs for real (huey's SQLite storage) and decide when the worker "runs".
    """
    huey = app.extensions["ridepledge.huey"]
    names = []
    for _ in range(limit):
        task = huey.dequeue()
        if task is None:
            return names
        names.append(task.name)
        task.execute()  # raises, unlike huey.execute(), so a failing job fails the test
    raise AssertionError("jobs keep queueing more jobs")
