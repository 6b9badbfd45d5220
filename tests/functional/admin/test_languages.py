"""The console speaks the widget's languages: the browser's choice or ?locale=."""

from __future__ import annotations

import pytest

from tests.admin_helpers import sign_in, team

SIGN_IN = {
    "en": "Sign in to the console",
    "es": "Inicia sesión en la consola",
    "fr": "Connectez-vous à la console",
}
SIGN_OUT = {"en": "Sign out", "es": "Cerrar sesión", "fr": "Se déconnecter"}


@pytest.mark.parametrize("locale", ["en", "es", "fr"])
def test_console_pages_in_each_language(app, client, locale):
    people = team(app)
    page = client.get("/admin/login", headers={"Accept-Language": locale}).get_data(as_text=True)
    assert f'<html lang="{locale}">' in page
    assert SIGN_IN[locale] in page
    sign_in(client, people["owner"])
    home = client.get(f"/admin/?locale={locale}").get_data(as_text=True)
    assert SIGN_OUT[locale] in home


ERRORS = {
    "es": ["Este campo es obligatorio.", "Escribe un número entero.", "Rellena este campo."],
    "fr": ["Ce champ est requis.", "Saisissez un nombre entier.", "Remplissez ce champ."],
}


@pytest.mark.parametrize("locale", ["es", "fr"])
def test_form_errors_are_in_the_admins_language(app, client, locale):
    """WTForms' messages (Flask-WTF translates them) and the domain's and marshmallow's
    (admin/messages.py) alike."""
    import re

    from tests.admin_helpers import csrf, post
    from tests.factories import make_event
    from widget_server.extensions import db
    from widget_server.models import Partner

    people = team(app)
    with app.app_context(), db.transaction() as session:
        event_id = make_event(session, session.get(Partner, people["partner_id"])).id
    errors = re.compile(r'class="error"[^>]*>([^<]+)<')
    empty = client.post(
        f"/admin/login?locale={locale}", data={"csrf_token": csrf(client), "email": ""}
    )
    required, number, fill = ERRORS[locale]
    assert required in errors.findall(empty.get_data(as_text=True))
    sign_in(client, people["owner"])
    trip = post(client, f"/admin/events/{event_id}/trips/new?locale={locale}", {"capacity": "x"})
    assert trip.status_code == 422
    shown = errors.findall(trip.get_data(as_text=True))
    assert number in shown and fill in shown
    assert not [m for m in shown if m.startswith(("Missing data", "Not a valid", "must "))]


def test_an_admin_keeps_the_console_in_one_language(app, client):
    """The Account page's choice wins over the browser's language, until set back."""
    from tests.admin_helpers import post

    people = team(app)
    sign_in(client, people["owner"])
    english = {"Accept-Language": "en"}
    saved = post(client, "/admin/account/language", {"locale": "fr"})
    assert saved.status_code == 302
    account = client.get("/admin/account", headers=english).get_data(as_text=True)
    assert "La langue de la console est enregistrée." in account
    home = client.get("/admin/", headers=english).get_data(as_text=True)
    assert SIGN_OUT["fr"] in home and '<html lang="fr">' in home
    refused = post(client, "/admin/account/language", {"locale": "de"})
    assert refused.status_code == 422
    assert 'id="console-locale-error"' in refused.get_data(as_text=True)
    post(client, "/admin/account/language", {"locale": ""})
    assert SIGN_OUT["en"] in client.get("/admin/", headers=english).get_data(as_text=True)
