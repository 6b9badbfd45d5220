"""Real Chromium against a real server: one browser, one widget server and one partner site per
module (the suite must stay fast on two cores).

The widget is served by LiveServer at http://127.0.0.1:<port>; partner pages by `HostSite` at
http://localhost:<other port>, a different origin that the test partners allow.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.host_site import HostSite
from tests.conftest import LiveServer, empty_all_tables, make_settings
from tests.factories import make_event, make_trip
from tests.services import CHROMIUM, chromium_available, require
from widget_server import create_app
from widget_server.domain.partners import PartnerSchema, upsert_partner
from widget_server.domain.pledges import planning, recording, trip_outcomes
from widget_server.extensions import db
from widget_server.models.types import utcnow

ROOT = Path(__file__).resolve().parents[2]
DOCS_IMAGES = ROOT / "docs" / "images"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# The logo in partner_config/demo.toml, answered by the tests instead of the internet.
DEMO_LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="15" '
    'fill="#0b5cad"/><path d="M9 17l5 5 9-11" stroke="#f2b705" stroke-width="3" fill="none"/></svg>'
)


@pytest.fixture(scope="module")
def browser():
    require("browser", chromium_available(), "Chromium at /usr/bin/chromium runs the widget tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        executable = str(CHROMIUM) if CHROMIUM.exists() else "chromium"
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def host_site():
    with HostSite() as site:
        yield site


@dataclass
class World:
    """What the browser tests see: the widget server, the partner site, and the demo data."""

    app: object
    server: LiveServer
    site: HostSite
    ids: dict = field(default_factory=dict)

    @property
    def widget(self) -> str:
        return self.server.url


def load_demo_partner(session, slug: str, allowed_origins: list[str]):
    data = tomllib.loads((ROOT / "partner_config" / f"{slug}.toml").read_text())
    data["allowed_origins"] = allowed_origins
    data.pop("site_url", None)  # its origin is the demo's, not the test partner site's
    partner, _ = upsert_partner(session, PartnerSchema().load(data), actor="test")
    return partner


@pytest.fixture(scope="module")
def world(browser, host_site, database_url, migrated_engine, tmp_path_factory):
    """Both demo partners (allowing the partner site's origin) with a game and trips in every
    state a fan can meet, served over real HTTP. The module's tests share it, so it starts
    from an empty database itself (tests/conftest.py's per-test cleaning skips them)."""
    empty_all_tables(migrated_engine)
    settings = make_settings(database_url, tmp_path_factory.mktemp("widget-instance"))
    app = create_app(settings, TESTING=True, RATELIMIT_WIDGET_WRITE="10000 per minute")
    server = LiveServer(app)
    settings.public_base_url = server.url  # the loader and the links must name this server
    ids = {}
    with app.app_context(), db.transaction() as session:
        home = load_demo_partner(session, "demo", [host_site.origin])
        away = load_demo_partner(session, "demo-away", [host_site.origin])
        starts = utcnow().replace(second=0, microsecond=0) + timedelta(days=21)
        game = make_event(
            session,
            home,
            title="Demo City FC vs. Riverside United",
            venue="Harbor Stadium",
            starts_at=starts,
        )
        ids["event"] = game.id
        ids["open"] = _trip(session, home, game, "Springfield", stops=2, capacity=40, min_riders=25)
        ids["sold_out"] = _trip(session, home, game, "Lakeside", capacity=2, min_riders=2)
        ids["failed"] = _trip(session, home, game, "Oak Ridge", capacity=30, min_riders=20)
        ids["canceled"] = _trip(session, home, game, "Maple Falls", capacity=30, min_riders=20)
        away_game = make_event(
            session,
            away,
            title="Atlético Visitante - Real Demo",
            venue="Estadio del Puerto",
            starts_at=starts,
            timezone="Europe/Madrid",
        )
        ids["away_event"] = away_game.id
        ids["away_open"] = _trip(
            session, away, away_game, "Valencia", region="VC", capacity=55, min_riders=30
        )
    _set_states(app, ids)
    server.start()
    yield World(app=app, server=server, site=host_site, ids=ids)
    server.stop()
    app.extensions["ridepledge.engine"].dispose()
    empty_all_tables(migrated_engine)


def _trip(session, partner, event, origin: str, *, stops=1, region="IL", **fields) -> str:
    trip = make_trip(
        session,
        partner,
        event,
        stops=stops,
        origin={"name": origin, "region": region},
        currency=partner.currency,
        **fields,
    )
    return trip.id


def _set_states(app, ids: dict) -> None:
    """Fill the sold-out trip, fail one and cancel one, through the domain."""
    from widget_server.models import Partner, Trip

    with app.app_context(), db.transaction() as session:
        provider = app.extensions["ridepledge.payments"]
        sold_out = session.get(Trip, ids["sold_out"])
        partner = session.get(Partner, sold_out.partner_id)
        request = planning.PledgeRequest(
            stop_id=sold_out.stops[0].id,
            seats=2,
            name="Early Bird",
            email="early@example.com",
            payment_method="pm_card_visa",
        )
        recording.create_pledge(session, provider, partner, sold_out.id, request)
        failed = session.get(Trip, ids["failed"])
        failed.pledge_deadline = utcnow() - timedelta(minutes=1)
        session.flush()
        trip_outcomes.fail_trip_if_overdue(session, failed.id)
        trip_outcomes.cancel_trip(session, session.get(Trip, ids["canceled"]), actor="test")


@pytest.fixture
def context(browser, world):
    """A fresh browser context (no shared state between tests); the demo logo is answered
    locally, nothing else leaves the machine."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.route(
        "https://demo-city-fc.example/**",
        lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=DEMO_LOGO),
    )
    yield context
    context.close()


# Playwright's `expect` gives up after 5 s by default, which a loaded CI machine can take for a
# page to settle: the same bound as the pages' own default timeout, and more.
expect.set_options(timeout=15_000)


@pytest.fixture
def page(context):
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def save_docs_screenshot(page_or_locator, name: str, tmp_path) -> Path:
    """Screenshots for docs/embed.md: written to docs/images/ when RIDEPLEDGE_SCREENSHOTS=1
    (then committed), to the test's tmp folder otherwise, so a plain test run changes no file."""
    folder = DOCS_IMAGES if os.environ.get("RIDEPLEDGE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page_or_locator.screenshot(path=str(path))
    return path
