"""Branding in the console: saving every field, the contrast check that names the pair and
refuses an unreadable theme, the signed live preview the widget honours, the embed generator."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from tests.admin_helpers import csrf, make_admin, post, sign_in
from tests.factories import make_event, make_partner
from tests.forgery import tampered
from widget_server.extensions import db
from widget_server.models import AuditLogEntry, Partner

FORM = {
    "branding.primary_color": "#c8102e",
    "branding.accent_color": "#ffb612",
    "branding.background_color": "#ffffff",
    "branding.text_color": "#1b1f24",
    "branding.font_family": "serif",
    "branding.corner_radius": "4",
    "branding.color_scheme": "light",
    "branding.logo_url": "",
    "locale": "es",
    "currency": "eur",
    "support_email": "Help@Chiefs.Example",
    "terms_url": "https://chiefs.example/terms",
    "allowed_origins": "https://www.chiefs.example\r\nhttp://localhost:3000\r\n",
}


@pytest.fixture
def world(app):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        other = make_partner(session, "other-team")
        make_admin(session, partner, "owner@chiefs.example", "owner")
        make_admin(session, partner, "viewer@chiefs.example", "viewer")
        make_admin(session, partner, "dev@chiefs.example", "developer")
        event = make_event(session, partner)
        return {"partner": partner.id, "other": other.slug, "event": event.id}


def owner(app):
    client = app.test_client()
    sign_in(client, "owner@chiefs.example")
    return client


def test_an_owner_saves_every_field(app, world):
    client = owner(app)
    assert post(client, "/admin/branding", FORM, page="/admin/branding").status_code == 302
    with app.app_context():
        partner = db.session.get(Partner, world["partner"])
        assert partner.branding["primary_color"] == "#c8102e"
        assert partner.branding["font_family"] == "serif"
        assert partner.branding["corner_radius"] == 4
        assert partner.locale == "es" and partner.currency == "EUR"
        assert partner.support_email == "Help@chiefs.example"
        assert partner.allowed_origins == ["https://www.chiefs.example", "http://localhost:3000"]
        entry = db.session.scalar(
            select(AuditLogEntry).where(AuditLogEntry.action == "partner.updated")
        )
        assert entry.actor == "admin:owner@chiefs.example"
    assert 'value="#c8102e"' in client.get("/admin/branding").get_data(as_text=True)


def test_an_unreadable_theme_is_refused_naming_the_pair_and_by_how_much(app, world):
    client = owner(app)
    grey = dict(FORM, **{"branding.text_color": "#999999"})
    answer = post(client, "/admin/branding", grey, page="/admin/branding")
    assert answer.status_code == 422
    page = html.unescape(answer.get_data(as_text=True))
    assert "Text on Background has contrast 2.85:1" in page
    assert 'id="f-branding-text_color-error"' in page
    assert "(1.65 short)" in page  # the live contrast list says how far off it is
    with app.app_context():
        assert db.session.get(Partner, world["partner"]).branding.get("text_color") != "#999999"


def test_bad_fields_are_named(app, world):
    client = owner(app)
    bad = dict(
        FORM, currency="XQQ", allowed_origins="ftp://nope.example", terms_url="http://x.example"
    )
    answer = post(client, "/admin/branding", bad, page="/admin/branding")
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert 'id="f-allowed_origins-error"' in page
    assert 'id="f-terms_url-error"' in page
    assert 'id="f-currency-error"' in page


def test_the_preview_is_the_real_widget_with_unsaved_values(app, world):
    client = owner(app)
    token = csrf(client, "/admin/branding")
    answer = client.post(
        "/admin/branding/preview",
        data={**FORM, "branding.primary_color": "#123456"},
        headers={"X-CSRFToken": token},
    )
    assert answer.status_code == 200
    url = answer.get_json()["preview_url"]
    assert url.startswith("/w/kc-chiefs/?preview=")
    widget = app.test_client().get(url)
    assert "--rp-primary: #123456" in widget.get_data(as_text=True)
    assert "frame-ancestors 'self'" in widget.headers["Content-Security-Policy"]
    links = re.findall(r'href="(/w/kc-chiefs/events/[^"]+)"', widget.get_data(as_text=True))
    assert links and all("preview=" in link for link in links)  # it stays in the preview
    with app.app_context():  # nothing was saved
        assert db.session.get(Partner, world["partner"]).branding.get("primary_color") != "#123456"
    # Forged, or made for another partner: the saved look, as for everyone.
    forged = app.test_client().get(tampered(url, 3)).get_data(as_text=True)
    assert "#123456" not in forged
    elsewhere = app.test_client().get(url.replace("/w/kc-chiefs/", f"/w/{world['other']}/"))
    assert "#123456" not in elsewhere.get_data(as_text=True)
    contrast = answer.get_json()["contrast"]
    assert contrast[0]["pair"] == ["text_color", "background_color"] and contrast[0]["ok"]


def test_viewers_and_developers_cannot_change_branding(app, world):
    for email in ("viewer@chiefs.example", "dev@chiefs.example"):
        client = app.test_client()
        sign_in(client, email)
        page = client.get("/admin/branding").get_data(as_text=True)
        assert "Save the branding" not in page
        assert post(client, "/admin/branding", FORM, page="/admin/branding").status_code == 403
    with app.app_context():
        assert db.session.get(Partner, world["partner"]).locale == "en"


def test_the_embed_code_and_its_preview_come_from_one_configuration(app, world):
    client = owner(app)
    answer = client.get(
        f"/admin/embed?event={world['event']}&locale=es&container=bus-widget&format=json"
    )
    result = answer.get_json()
    assert result["config"] == {
        "partner": "kc-chiefs",
        "event": world["event"],
        "locale": "es",
        "container": "bus-widget",
    }
    snippet = result["snippet"]
    assert (
        '<div id="bus-widget" data-ridepledge data-partner="kc-chiefs" '
        f'data-event="{world["event"]}" data-locale="es">' in snippet
    )
    assert '<script async src="http://127.0.0.1:8000/embed.js"></script>' in snippet
    path = f"/w/kc-chiefs/events/{world['event']}?locale=es"
    assert result["preview_url"].startswith(path + "&preview=")  # saved look, framable here
    assert f'<a href="http://127.0.0.1:8000{path}">' in snippet
    # Another partner's (or no) event is a 404; junk in the container id is not taken in.
    assert client.get("/admin/embed?event=evt_other&format=json").status_code == 404
    junk = client.get("/admin/embed?event=&container=<script>&format=json").get_json()
    assert junk["config"]["event"] is None and junk["config"]["container"] == "script"
    page = client.get(f"/admin/embed?event={world['event']}").get_data(as_text=True)
    assert "data-ridepledge" in html.unescape(page)


def _preview_url(app, client, **values) -> str:
    answer = client.post(
        "/admin/branding/preview",
        data={**FORM, **values},
        headers={"X-CSRFToken": csrf(client, "/admin/branding")},
    )
    assert answer.status_code == 200
    return answer.get_json()["preview_url"]


def test_a_viewer_cannot_mint_a_preview(app, world):
    """Issue 19: a preview is a signed link showing any wording and logo under the partner's
    name; only those who may change the branding make one."""
    for email in ("viewer@chiefs.example", "dev@chiefs.example"):
        client = app.test_client()
        sign_in(client, email)
        answer = client.post(
            "/admin/branding/preview",
            data={**FORM, "wording.en.headline": "Enter your card to win"},
            headers={"X-CSRFToken": csrf(client, "/admin/branding")},
        )
        assert answer.status_code == 403, email


def test_a_preview_says_so_and_sends_nothing(app, world):
    """Issue 19: the preview page shows a banner, its forms cannot be sent (CSP form-action,
    widget.js, and the server refuses any write carrying a preview)."""
    with app.app_context(), db.transaction() as session:
        from tests.factories import make_trip

        trip = make_trip(session, session.get(Partner, world["partner"]))
        trip_id, stop_id = trip.id, trip.stops[0].id
    url = _preview_url(app, owner(app), **{"wording.en.headline": "Phish"})
    token = url.split("preview=", 1)[1]
    fan = app.test_client()
    page = fan.get(f"/w/kc-chiefs/trips/{trip_id}/pledge?preview={token}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'class="rp-preview"' in text and "nothing can be sent" in text
    assert "form-action 'none'" in page.headers["Content-Security-Policy"]
    assert '"preview": true' in text  # widget.js disables the forms
    action = re.search(r'<form[^>]+action="([^"]+/pledge[^"]*)"', text).group(1)
    assert "preview=" in html.unescape(action)
    sent = fan.post(
        html.unescape(action),
        data={"stop_id": stop_id, "seats": "1", "name": "Ana", "email": "ana@example.com"},
    )
    assert sent.status_code == 403
    assert "nothing can be sent" in sent.get_data(as_text=True)
    api = fan.post(
        f"/w/kc-chiefs/api/trips/{trip_id}/pledges?preview={token}",
        json={"stop_id": stop_id, "seats": 1, "name": "Ana", "email": "ana@example.com"},
    )
    assert api.status_code == 403 and api.json["type"].endswith("/preview-only")
    spanish = fan.get(f"/w/kc-chiefs/trips/{trip_id}/pledge?preview={token}&locale=es")
    assert "no se puede enviar nada" in spanish.get_data(as_text=True)
    # Without a preview the same page has no banner and sends as always.
    normal = fan.get(f"/w/kc-chiefs/trips/{trip_id}/pledge")
    assert 'class="rp-preview"' not in normal.get_data(as_text=True)
    assert "form-action 'self'" in normal.headers["Content-Security-Policy"]
