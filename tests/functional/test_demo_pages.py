"""The demo's own pages and data, without starting the demo's processes: the outbox page
(demo mode only), the landing page's links, the demo partners' console changes, and game times
that make sense where each game is played."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from widget_server.demo_data import DEPARTURE_BEFORE_KICKOFF, saturday_at, seed_demo
from widget_server.demo_site import changes_made_live
from widget_server.domain.partners import load_partner_files, upsert_partner
from widget_server.extensions import db
from widget_server.ids import new_id
from widget_server.models import Event, Trip
from widget_server.notifications.transport import write_outbox

ROOT = Path(__file__).resolve().parents[2]


def _load_demo_partners(session) -> None:
    partners, problems = load_partner_files(ROOT / "partner_config")
    assert problems == []
    for data in partners:
        upsert_partner(session, data, actor="test")


def _write_email(settings, email_id: str, subject: str) -> None:
    message = EmailMessage()
    message["From"] = "Demo City FC <no-reply@ridepledge.local>"
    message["To"] = "Alex Rivera <alex@fans.example>"
    message["Subject"] = subject
    message.set_content("Your pledge is in.\nhttp://127.0.0.1:8000/w/demo/manage/abc")
    message.add_alternative("<p>Your <b>pledge</b> is in.</p><img src='cid:qr1'>", subtype="html")
    message.get_payload()[1].add_related(b"\x89PNG fake", "image", "png", cid="<qr1>")
    write_outbox(settings.instance_path / "outbox", email_id, message)


def test_the_outbox_is_not_found_outside_demo_mode(client, settings):
    email_id = new_id("eml")
    _write_email(settings, email_id, "Pledge received")
    assert settings.demo_mode is False
    for path in ("/demo/outbox", f"/demo/outbox/{email_id}", f"/demo/outbox/{email_id}/html"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert b"Pledge received" not in answer.data


def test_the_outbox_lists_and_shows_the_sent_emails_in_demo_mode(client, settings):
    settings.demo_mode = True
    email_id = new_id("eml")
    _write_email(settings, email_id, "Pledge received: Springfield")
    listing = client.get("/demo/outbox")
    assert listing.status_code == 200
    assert "Pledge received: Springfield" in listing.text
    assert f"/demo/outbox/{email_id}" in listing.text
    one = client.get(f"/demo/outbox/{email_id}")
    assert one.status_code == 200 and "http://127.0.0.1:8000/w/demo/manage/abc" in one.text
    html = client.get(f"/demo/outbox/{email_id}/html")
    assert html.status_code == 200 and "<b>pledge</b>" in html.text
    assert "cid:qr1" not in html.text and "data:image/png;base64," in html.text
    assert "sandbox" in html.headers["Content-Security-Policy"]
    # Only files of the outbox, by the names the transport gives them.
    assert client.get("/demo/outbox/..%2Fsecret_key").status_code == 404
    assert client.get(f"/demo/outbox/{new_id('eml')}").status_code == 404


def test_the_demo_landing_page_links_every_face(client, settings, app):
    settings.demo_mode = True
    with app.app_context(), db.transaction() as session:
        _load_demo_partners(session)
        seed_demo(session)
    page = client.get("/").text
    with app.app_context():
        event = db.session.scalars(select(Event)).first()
        slug = event.partner.slug
        trip = db.session.scalars(select(Trip).where(Trip.event_id == event.id)).first()
    for link in (
        "/docs",
        "/admin/login",
        "/demo/outbox",
        "/w/demo/",
        "/partner-site/demo",
        "/t/demo/sitemap.xml",
        f"/t/{slug}/events/{event.id}",
        f"/t/{slug}/{trip.id}",
    ):
        assert f'href="{link}' in page or f'{link}"' in page, link


def test_demo_games_are_at_local_evening_times_with_buses_before():
    now = datetime(2026, 12, 7, 1, 59, tzinfo=UTC)  # 01:59 UTC: 2:59 AM in Madrid
    madrid = saturday_at(now, "Europe/Madrid", datetime(2000, 1, 1, 21).time())
    local = madrid.astimezone(ZoneInfo("Europe/Madrid"))
    assert (local.weekday(), local.hour, local.minute) == (5, 21, 0)
    assert (local - now.astimezone(ZoneInfo("Europe/Madrid"))).days >= 21
    assert (madrid - DEPARTURE_BEFORE_KICKOFF).astimezone(ZoneInfo("Europe/Madrid")).hour == 17


def test_seeded_demo_games_start_in_the_evening_where_they_are_played(app):
    with app.app_context(), db.transaction() as session:
        _load_demo_partners(session)
        seed_demo(session)
        events = session.scalars(select(Event)).all()
        assert len(events) == 2
        for event in events:
            local = event.starts_at.astimezone(ZoneInfo(event.timezone))
            assert 18 <= local.hour <= 21, (event.title, local)
            for trip in session.scalars(select(Trip).where(Trip.event_id == event.id)):
                departs = trip.stops[0].departs_at.astimezone(ZoneInfo(event.timezone))
                assert 12 <= departs.hour <= 18, (trip.origin_name, departs)
                assert trip.pledge_deadline < trip.stops[0].departs_at


@pytest.mark.parametrize(
    ("differences", "kept"),
    [
        # The demo rewrites loopback origins and site_url for its port: not the admin's doing.
        (
            {
                "allowed_origins": (["http://localhost:8100"], ["http://localhost:8000"]),
                "site_url": (
                    "http://localhost:8100/partner-site/demo",
                    "http://localhost:8000/partner-site/demo",
                ),
            },
            set(),
        ),
        # An admin's edits are.
        (
            {
                "name": ("Demo City FC (edited)", "Demo City FC"),
                "allowed_origins": (
                    ["https://club.example", "http://localhost:8100"],
                    ["http://localhost:8000"],
                ),
            },
            {"name", "allowed_origins"},
        ),
    ],
)
def test_the_demo_tells_console_changes_from_its_own(differences, kept):
    assert set(changes_made_live(differences)) == kept


def test_demo_sign_ins_shown_again_only_while_they_work(app, settings):
    """`ridepledge demo credentials` shows the stored password while it is the admin's; once
    the admin changed it in the console, a one-time link instead of the stale password."""
    from widget_server.cli import cli
    from widget_server.domain.accounts.admins import find_admin, set_password

    runner = app.test_cli_runner()
    partners = str(ROOT / "partner_config")
    prepared = runner.invoke(cli, ["demo", "--no-serve", "--partners", partners])
    assert prepared.exit_code == 0, prepared.output
    password = re.search(r"demo console sign-in: owner@demo\.example / (\S+)", prepared.stdout)
    assert password, prepared.stdout
    shown = runner.invoke(cli, ["demo", "credentials"]).stdout
    assert f"owner@demo.example / {password.group(1)}" in shown
    stored = settings.instance_path / "demo_credentials.json"
    assert stored.stat().st_mode & 0o077 == 0  # the owner's only

    with app.app_context(), db.transaction() as session:
        admin = find_admin(session, "owner@demo.example")
        set_password(session, admin, "a new password of my own", actor="admin")
    shown = runner.invoke(cli, ["demo", "credentials"]).stdout
    assert password.group(1) not in shown
    assert re.search(r"owner@demo\.example .*changed.*/admin/password/set/\S+", shown), shown
