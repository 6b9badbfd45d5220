"""Manage links: unique at every issue, valid until a while after the game, still opening (on a
status page) after a cancel, and re-sent by email to a fan who lost them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.conftest import run_jobs
from tests.factories import make_partner, make_trip
from tests.unit.email_helpers import outbox_file, parse
from tests.widget_helpers import submit_form
from widget_server.extensions import db
from widget_server.fan.links import LINK_LIFETIME_AFTER_EVENT, manage_token
from widget_server.models import Event, OutboundEmail, Pledge
from widget_server.models.types import utcnow


@pytest.fixture
def fan(app, client):
    with app.app_context(), db.transaction() as session:
        trip = make_trip(session, make_partner(session, "kc-chiefs"))
        ids = {"trip": trip.id, "stop": trip.stops[0].id, "event": trip.event_id}
    created = client.post(
        f"/w/kc-chiefs/api/trips/{ids['trip']}/pledges",
        json={
            "stop_id": ids["stop"],
            "seats": 2,
            "name": "Pat Fan",
            "email": "Pat@Example.com",
            "payment_method": "pm_card_visa",
        },
    )
    assert created.status_code == 201
    ids["pledge"] = created.json["pledge"]["id"]
    ids["token"] = created.json["manage_url"].rsplit("/", 1)[-1]
    return ids


def test_every_issue_is_a_different_link_to_the_same_pledge(app, client, fan):
    with app.app_context():
        tokens = {manage_token(fan["pledge"]) for _ in range(5)}
    assert len(tokens) == 5
    for token in tokens:
        assert client.get(f"/w/kc-chiefs/api/manage/{token}").json["pledge"]["id"] == fan["pledge"]


def test_links_work_until_30_days_after_the_game_then_expire(app, client, fan):
    url = f"/w/kc-chiefs/manage/{fan['token']}"
    with app.app_context(), db.transaction() as session:
        session.execute(update(Event).values(starts_at=utcnow() - timedelta(days=29)))
    assert client.get(url).status_code == 200
    with app.app_context(), db.transaction() as session:
        session.execute(
            update(Event).values(starts_at=utcnow() - LINK_LIFETIME_AFTER_EVENT - timedelta(1))
        )
    expired = client.get(url)
    assert expired.status_code == 410
    assert "expired" in expired.get_data(as_text=True)
    api = client.get(f"/w/kc-chiefs/api/manage/{fan['token']}")
    assert api.status_code == 410 and api.json["type"].endswith("/link-expired")


def test_forged_and_old_style_links_do_not_open(app, client, fan):
    from itsdangerous import URLSafeSerializer

    with app.app_context():
        old = URLSafeSerializer("test-secret-key", salt="ridepledge.pledge-manage").dumps(
            fan["pledge"]
        )
    assert client.get(f"/w/kc-chiefs/manage/{old}").status_code == 404
    assert client.get(f"/w/kc-chiefs/manage/{fan['token']}x").status_code == 404


def test_a_canceled_pledges_link_shows_a_canceled_status_page(app, client, fan):
    url = f"/w/kc-chiefs/manage/{fan['token']}"
    assert client.post(f"/w/kc-chiefs/api/manage/{fan['token']}/cancel", json={}).status_code == 200
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "This pledge is withdrawn" in html and "data-pledge-ended" in html
    assert "/stop" not in html and "Withdraw my pledge" not in html


def test_email_me_my_link_mails_fresh_links_and_answers_the_same_either_way(
    app, client, settings, fan
):
    url = f"/w/kc-chiefs/api/trips/{fan['trip']}/manage_links"
    known = client.post(url, json={"email": "PAT@example.COM"})
    unknown = client.post(url, json={"email": "nobody@example.com"})
    no_trip = client.post(
        "/w/kc-chiefs/api/trips/trp_01m8t5v15a9ctp8na1r706br02/manage_links",
        json={"email": "a@b.io"},
    )
    assert known.status_code == unknown.status_code == no_trip.status_code == 202
    assert known.json == unknown.json == no_trip.json
    run_jobs(app)
    with app.app_context():
        emails = db.session.scalars(
            select(OutboundEmail).where(OutboundEmail.kind == "manage_link")
        ).all()
        assert [e.pledge_id for e in emails] == [fan["pledge"]]
        message = parse(outbox_file(settings, emails[0].id).read_bytes())
    text = message.get_body(("plain",)).get_content()
    link = next(line for line in text.splitlines() if "/manage/" in line).strip()
    assert link.rsplit("/", 1)[-1] != fan["token"]  # a fresh link
    assert client.get(link.replace("http://127.0.0.1:8000", "")).status_code == 200
    assert client.post(url, json={"email": "not an email"}).status_code == 422


def test_email_me_my_link_works_without_javascript_and_is_rate_limited(app, client, fan):
    page = f"/w/kc-chiefs/trips/{fan['trip']}/link"
    assert "Email me my link" in client.get(f"/w/kc-chiefs/trips/{fan['trip']}").get_data(True)
    answers = [
        submit_form(client, page, "/link", {"email": "pat@example.com"}).status_code
        for _ in range(6)
    ]
    assert answers[:4] == [303] * 4  # the pledge itself was the fan's first write
    assert answers[-1] == 429
    done = client.get(page + "?done=1").get_data(as_text=True)
    assert "If you pledged on this trip with that address" in done
    with app.app_context():
        assert db.session.query(Pledge).count() == 1
