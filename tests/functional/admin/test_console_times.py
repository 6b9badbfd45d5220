"""Dates and times in the console: one format per language (no seconds, no "UTC" tacked on),
in the partner's time zone, and an event's own zone named when it differs; the event form's
time zone is a picker of IANA zones, checked on the server."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.admin_helpers import make_admin, post, sign_in
from tests.factories import make_event, make_partner
from widget_server.domain.audit import record
from widget_server.extensions import db
from widget_server.models import Event

MOMENT = datetime(2030, 11, 14, 1, 5, tzinfo=UTC)  # 19:05 on the 13th in Chicago
EXPECTED = {
    "en": "Nov 13, 2030, 7:05\u202fPM",
    "es": "13 nov 2030, 19:05",
    "fr": "13 nov. 2030, 19:05",
}


@pytest.fixture
def world(app):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        make_admin(session, partner, "owner@chiefs.example", "owner")
        make_event(session, partner, title="Home game", starts_at=MOMENT)
        entry = record(session, partner.id, "test", "partner.updated", "partner", partner.id)
        entry.created_at = MOMENT
        event = make_event(
            session, partner, title="Away game", starts_at=MOMENT, timezone="Europe/Paris"
        )
        return {"partner": partner.id, "away": event.id}


def owner(app):
    client = app.test_client()
    assert sign_in(client, "owner@chiefs.example").status_code == 302
    return client


@pytest.mark.parametrize("locale", ["en", "es", "fr"])
def test_one_format_per_language_in_the_partners_zone(app, world, locale):
    client = owner(app)
    audit = client.get(f"/admin/audit?locale={locale}").get_data(as_text=True)
    # The partner's latest event is in Paris: its zone is the partner's now.
    paris = {"en": "Nov 14, 2030, 2:05\u202fAM", "es": "14 nov 2030, 2:05"}
    assert paris.get(locale, "14 nov. 2030, 02:05") in audit
    team = client.get(f"/admin/team?locale={locale}").get_data(as_text=True)
    for page in (audit, team):
        assert " UTC" not in page
        assert not re.search(r"\d:\d\d:\d\d", page)  # no seconds anywhere


def test_an_event_in_another_zone_names_it(app, world):
    with app.app_context(), db.transaction() as session:
        # Make Chicago the partner's zone again: a newer event there.
        from widget_server.models import Partner

        make_event(session, session.get(Partner, world["partner"]), title="Later game")
    home = owner(app).get("/admin/?locale=en").get_data(as_text=True)
    assert EXPECTED["en"] in home  # the home game, in the partner's zone, unnamed
    assert "Nov 14, 2030, 2:05\u202fAM (Europe/Paris)" in home
    assert "Times are in the America/Chicago time zone" in home


def test_the_time_zone_is_a_picker_with_the_partners_zone_chosen(app, world):
    client = owner(app)
    form = client.get("/admin/events/new").get_data(as_text=True)
    assert '<select id="f-timezone" name="timezone" required' in form
    assert '<option value="Europe/Paris" selected>' in form  # the partner's current zone
    assert 'value="localtime"' not in form and 'value="US/Central"' not in form
    values = {"title": "Cup final", "venue": "Stade", "starts_at": "2031-06-01T21:00"}
    for wrong in ("localtime", "Mars/Olympus", "US/Central", ""):
        answer = post(client, "/admin/events/new", {**values, "timezone": wrong})
        assert answer.status_code == 422, wrong
        assert 'id="f-timezone-error"' in answer.get_data(as_text=True)
    made = post(client, "/admin/events/new", {**values, "timezone": "Europe/Madrid"})
    assert made.status_code == 302
    with app.app_context():
        assert db.session.query(Event).filter_by(title="Cup final").one().timezone == (
            "Europe/Madrid"
        )


def test_an_event_keeps_a_legacy_zone_it_already_has(app, world):
    with app.app_context(), db.transaction() as session:
        session.get(Event, world["away"]).timezone = "US/Central"  # as the API may have set it
    client = owner(app)
    page = client.get(f"/admin/events/{world['away']}").get_data(as_text=True)
    assert '<option value="US/Central" selected>' in page
    saved = post(
        client,
        f"/admin/events/{world['away']}",
        {
            "title": "Away game",
            "venue": "Arrowhead Stadium",
            "starts_at": "2030-11-13T19:05",
            "timezone": "US/Central",
        },
    )
    assert saved.status_code == 302
